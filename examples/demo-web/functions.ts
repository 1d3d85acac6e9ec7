/**
 * The RPC functions of the `npm start` demo, shared by every node of the mesh with
 *
 *   wsmesh start ... --functions examples/demo-web/functions.ts --namespace demo
 *
 * A functions module has no server object: it learns which node runs it from
 * `WSMESH_NODE_ID`, which `wsmesh start` sets before loading it (one node per process, so the
 * process id names the node too). Every result says where it was computed: the node a page is
 * connected to (a function registered locally wins over the clones' copies), so "switch
 * server" in the page changes the answers.
 * @module
 */
import { hostname } from 'node:os';

/** The node this module runs in. */
function node(): string {
  return process.env['WSMESH_NODE_ID'] ?? `${hostname()}-${process.pid}`;
}

/** a + b, and which node added them. */
export function add(a: number, b: number): { sum: number; computedBy: string } {
  return { sum: a + b, computedBy: node() };
}

/** Counts down from `from` (1 to 20), one item every 300 ms: a stream with flow control. */
export async function* countdown(from: number): AsyncGenerator<string> {
  for (let i = Math.min(Math.max(Math.trunc(Number(from)), 1), 20); i > 0; i--) {
    yield `${i} (from ${node()})`;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** Where this call ran: the node's id, its process and machine, and how long it has run. */
export function whereAmI(): { node: string; pid: number; host: string; uptimeSeconds: number } {
  return {
    node: node(),
    pid: process.pid,
    host: hostname(),
    uptimeSeconds: Math.round(process.uptime()),
  };
}
