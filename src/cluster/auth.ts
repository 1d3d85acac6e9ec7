/**
 * Authentication functions of clone links.
 * @module
 */

/** Checks a remote clone dialing in: return true to accept its authValue. */
export type AuthFnIn = (authValue: unknown) => boolean | Promise<boolean>;

/** Returns the authValue to present when dialing `clone`. */
export type AuthFnOut = (clone: { id: string; url: string | null }) => unknown;

/** Runs `authFnIn`; a throw or a non-`true` result refuses. Without a function, anyone is accepted. */
export async function checkAuthIn(
  authFnIn: AuthFnIn | undefined,
  authValue: unknown,
): Promise<boolean> {
  if (authFnIn === undefined) return true;
  try {
    return (await authFnIn(authValue)) === true;
  } catch {
    return false;
  }
}
