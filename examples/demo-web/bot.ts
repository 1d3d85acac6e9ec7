/**
 * The bot of the `npm start` demo: a Node client on one node of the mesh that posts to the
 * group "lobby" every few seconds and answers messages that mention it. Pages on any node get
 * its messages (group messages cross the mesh).
 * @module
 */
import { Client } from 'wsmesh';

/** How often the bot posts. */
export const BOT_INTERVAL_MS = 4000;

/** A running bot. */
export interface Bot {
  stop(): Promise<void>;
}

/** Connects the bot to `url` (the node `nodeId`) and starts posting. */
export async function startBot(url: string, nodeId: string): Promise<Bot> {
  const bot = new Client({ id: 'bot', url, silent: true });
  bot.addRoute({
    route: 'chat',
    handler: ({ data, mes }) => {
      const message = data as { from?: unknown; text?: unknown } | null;
      if (typeof message?.text !== 'string' || message.from === 'bot') return;
      if (!/\bbot\b/i.test(message.text)) return;
      void bot
        .sendMesToGroup({
          id: mes.group ?? 'lobby',
          route: 'chat',
          data: {
            from: 'bot',
            via: nodeId,
            text: `hi ${String(message.from)}, I am a Node client on ${nodeId}`,
          },
        })
        .catch(() => undefined);
    },
  });
  await bot.start();
  await bot.subscribe({ id: 'lobby' });
  let count = 0;
  const timer = setInterval(() => {
    count++;
    void bot
      .sendMesToGroup({
        id: 'lobby',
        route: 'chat',
        data: {
          from: 'bot',
          via: nodeId,
          text: `beep #${count} (every ${BOT_INTERVAL_MS / 1000} s)`,
        },
      })
      .catch(() => undefined);
  }, BOT_INTERVAL_MS);
  return {
    async stop() {
      clearInterval(timer);
      await bot.stop();
    },
  };
}
