// The demo page's script (plain JavaScript, served as is by `wsmesh start --static`). It asks
// the node that served it for the mesh's urls (/wsmesh.json), connects the browser client
// (/wsmesh-client.js, the bundle of `wsmesh/client`) with that failover list, and wires the
// chat, the RPC buttons and "switch server".
/* global document, window, fetch */
import { WebClient } from '/wsmesh-client.js';

const $ = (id) => document.getElementById(id);
/** Messages kept on the page (the oldest go): a page left open for days stays light. */
const MAX_MESSAGES = 200;
/** `{ id, urls }`: this node's WebSocket url first, then its clones'. */
const mesh = await (await fetch('/wsmesh.json')).json();
$('node').textContent = mesh.id;
const other = mesh.urls[1];
if (other === undefined) {
  $('other').textContent = 'the page of the other clone (not linked yet: reload)';
} else {
  const page = new URL(other);
  page.protocol = page.protocol === 'wss:' ? 'https:' : 'http:';
  page.pathname = '/';
  $('other').href = page.href;
}
$('name').value = 'guest-' + Math.random().toString(36).slice(2, 6);

const client = new WebClient({ url: mesh.urls, silent: true, reconnectTimeout: 500 });
let serverId;

function status() {
  const info = client.getInfo();
  const el = $('status');
  el.className = 'status ' + info.state;
  el.textContent = info.connected
    ? 'connected to ' + info.serverId + ' (' + info.url + '), client id ' + info.id
    : info.state + '…';
  $('groups').textContent = info.groups.length ? info.groups.join(', ') : 'none';
}

function show(group, message) {
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = String(message.from ?? '?');
  who.className = message.from === 'bot' ? 'bot' : message.id === client.id ? 'mine' : '';
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = ' [' + group + ', sent via ' + String(message.via ?? '?') + '] ';
  li.append(who, meta, document.createTextNode(String(message.text ?? '')));
  const list = $('messages');
  list.prepend(li); // newest first, in a box that scrolls
  while (list.childElementCount > MAX_MESSAGES) list.lastElementChild?.remove();
}

client.addRoute({ route: 'chat', handler: ({ data, mes }) => show(mes.group, data ?? {}) });
client.on('open', ({ serverId: id }) => {
  serverId = id;
  status();
});
client.on('close', status);
client.on('stop', status);
client.on('error', ({ error }) => console.warn('wsmesh:', error.message));

$('join').onsubmit = async (event) => {
  event.preventDefault();
  await client.subscribe({ id: $('group').value.trim() });
  status();
};
$('leave').onclick = async () => {
  await client.unsubscribe({ id: $('group').value.trim() });
  status();
};
$('send').onsubmit = async (event) => {
  event.preventDefault();
  const text = $('text').value;
  $('text').value = '';
  await client.sendMesToGroup({
    id: $('group').value.trim(),
    route: 'chat',
    data: { from: $('name').value, id: client.id, via: serverId, text },
  });
};

let demo; // the RPC proxy of namespace "demo", once connected
const out = (text) => {
  $('rpc-out').textContent = text;
};
$('add').onsubmit = async (event) => {
  event.preventDefault();
  const result = await demo.add(Number($('a').value), Number($('b').value));
  out('add -> ' + JSON.stringify(result));
};
$('countdown').onclick = async () => {
  const items = [];
  for await (const item of demo.countdown(5)) {
    items.push(item);
    out('countdown -> ' + items.join(', '));
  }
  out('countdown -> ' + items.join(', ') + ', done');
};
$('where').onclick = async () => out('whereAmI -> ' + JSON.stringify(await demo.whereAmI()));
$('switch').onclick = () => {
  client.nextUrl();
  status();
};

for (const button of document.querySelectorAll('#add button')) button.disabled = true;
status();
await client.start();
await client.subscribe({ id: 'lobby' });
demo = await client.rpc('demo');
for (const button of document.querySelectorAll('#add button')) button.disabled = false;
status();
window.wsmeshDemo = { client, mesh };
