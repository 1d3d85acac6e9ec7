/**
 * Who may come in, and with what: the one place that decides, from a peer's HELLO and the
 * server's security options, what the peer must prove and what it may do once in. Pure
 * logic, no sockets: the accepting handshake follows the plan and hands out the grants.
 * @module
 */
import type { HelloBody, PeerKind } from '../protocol/frames.js';

/** The server options that decide trust. */
export interface SecuritySetup {
  /** `serverSecret` is set. */
  readonly secret: boolean;
  /** An `authenticate` hook is set. */
  readonly authenticate: boolean;
  /** An `authFnIn` hook is set. */
  readonly authFnIn: boolean;
  /** `encryption: true`. */
  readonly encryption: boolean;
  /**
   * Where the connection came in: `any` when the server serves every kind on one endpoint,
   * `public` or `mesh` when mesh peers have their own (`meshEndpoint`).
   */
  readonly entry: 'any' | 'public' | 'mesh';
}

/** True for a server with no security option at all: any peer may join as a clone or link. */
export function isOpen(setup: SecuritySetup): boolean {
  return !setup.secret && !setup.authenticate && !setup.authFnIn && !setup.encryption;
}

/** What the handshake of one peer must do before WELCOME. */
export interface AdmissionPlan {
  /** Refuse right after HELLO with this message (ERR_AUTH, close 4003). */
  readonly refuse?: string;
  /** Send CHALLENGE and wait for AUTH. */
  readonly challenge: boolean;
  /** CHALLENGE carries the server's secret proof (HELLO asked with `challenge`). */
  readonly proveServer: boolean;
  /** AUTH must carry a valid proof of the secret. */
  readonly requireProof: boolean;
  /** AUTH's `authValue` must pass `authFnIn`. */
  readonly checkAuthFnIn: boolean;
  /** HELLO's `credentials` must pass the `authenticate` hook. */
  readonly runAuthenticate: boolean;
  /** HELLO must ask for payload encryption. */
  readonly requireEncryption: boolean;
}

/** Which frame table serves an open peer. */
export type PeerRole = 'client' | 'clone' | 'link';

/** What an open peer may do; decided once, at the end of its handshake. */
export interface PeerGrants {
  /** Which frames it may send: client frames, or those of a clone or server link. */
  readonly role: PeerRole;
  /** It may call RPC functions. */
  readonly rpc: boolean;
  /** The server's `rateLimit` applies to it (everyone but admitted mesh peers). */
  readonly rateLimited: boolean;
}

/** Grants of a connection that has not finished its handshake: nothing. */
export const NO_GRANTS: PeerGrants = Object.freeze({
  role: 'client',
  rpc: false,
  rateLimited: true,
});

function refused(message: string): AdmissionPlan {
  return {
    refuse: message,
    challenge: false,
    proveServer: false,
    requireProof: false,
    checkAuthFnIn: false,
    runAuthenticate: false,
    requireEncryption: false,
  };
}

/** Decides what a peer with this HELLO must prove on a server with this setup. */
export function planAdmission(hello: HelloBody, setup: SecuritySetup): AdmissionPlan {
  const kind: PeerKind = hello.kind ?? 'client';
  const asksProof = hello.challenge !== undefined;
  if (asksProof && !setup.secret) {
    return refused('This server has no serverSecret to prove (drop serverSecret on the dialer)');
  }
  const mesh = kind === 'clone' || kind === 'link';
  if (setup.entry === 'public' && mesh) {
    return refused(`A ${kind} must dial this server's mesh endpoint (meshEndpoint)`);
  }
  if (setup.entry === 'mesh' && !mesh) {
    return refused('This is the mesh endpoint: clients and RPC proxies use the public one');
  }
  if (mesh) {
    const open = isOpen(setup);
    if (!open && !setup.secret && !(kind === 'clone' && setup.authFnIn)) {
      return refused(
        kind === 'clone'
          ? 'This server admits clones only with authFnIn or serverSecret'
          : 'This server admits server links only with serverSecret',
      );
    }
    if (setup.secret && !asksProof) {
      return refused(`A ${kind} must prove the server secret (HELLO.challenge is missing)`);
    }
    return {
      challenge: true,
      proveServer: asksProof,
      requireProof: setup.secret,
      checkAuthFnIn: kind === 'clone' && setup.authFnIn,
      runAuthenticate: false,
      requireEncryption: setup.encryption,
    };
  }
  if (kind === 'rpc' && setup.secret && !asksProof) {
    return refused('RPC proxies must prove the server secret (HELLO.challenge is missing)');
  }
  return {
    challenge: asksProof,
    proveServer: asksProof,
    requireProof: asksProof,
    checkAuthFnIn: false,
    runAuthenticate: setup.authenticate,
    // Browsers cannot encrypt payloads: ordinary clients are never required to.
    requireEncryption: setup.encryption && kind === 'rpc',
  };
}

/** What a peer admitted by `plan` may do; `proved`: it proved the secret. */
export function grantsFor(hello: HelloBody, setup: SecuritySetup, proved: boolean): PeerGrants {
  const kind: PeerKind = hello.kind ?? 'client';
  if (kind === 'clone') return CLONE_GRANTS;
  if (kind === 'link') return LINK_GRANTS;
  return !setup.secret || proved ? CLIENT_GRANTS : CLIENT_NO_RPC_GRANTS;
}

// Shared by every connection of their kind: an idle connection should not carry its own copy.
const CLONE_GRANTS: PeerGrants = Object.freeze({ role: 'clone', rpc: true, rateLimited: false });
const LINK_GRANTS: PeerGrants = Object.freeze({ role: 'link', rpc: true, rateLimited: false });
const CLIENT_GRANTS: PeerGrants = Object.freeze({ role: 'client', rpc: true, rateLimited: true });
const CLIENT_NO_RPC_GRANTS: PeerGrants = Object.freeze({
  role: 'client',
  rpc: false,
  rateLimited: true,
});
