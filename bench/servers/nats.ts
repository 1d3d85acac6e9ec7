/**
 * NATS contender (`nats`, `nats-ws`): the server under test is a real nats-server (started
 * by the orchestrator, one per server process, routed into a cluster in S3); this process is
 * the request/reply responder beside it, subscribed on the first server of the cluster to
 * subject `add`, answering `{a, b}` with `a + b` (JSON). It reports the port clients use: the
 * nats-server's client port, or its WebSocket port for `nats-ws`. Fan-out needs no code here:
 * subscribers and the publisher talk to nats-server directly.
 * @module
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sumOf } from '../lib/payload.js';
import { runServerChild, type ServerArgument, type StartedServer } from '../lib/server-child.js';

async function start(argument: ServerArgument): Promise<StartedServer> {
  const natsPort = argument.natsPorts[argument.index];
  const wsPort = argument.natsWsPorts[argument.index];
  if (natsPort === undefined || wsPort === undefined) {
    throw new Error(`no nats-server for server ${argument.index}`);
  }
  let nc: NatsConnection | undefined;
  if (argument.index === 0) {
    const responder = await connect({ servers: `127.0.0.1:${natsPort}`, reconnect: false });
    responder.subscribe('add', {
      callback: (error, message) => {
        if (error !== null) return;
        message.respond(JSON.stringify(sumOf(message.json()) ?? null));
      },
    });
    await responder.flush();
    nc = responder;
  }
  return {
    port: argument.contender === 'nats-ws' ? wsPort : natsPort,
    close: async () => {
      await nc?.close();
    },
  };
}

runServerChild(start);
