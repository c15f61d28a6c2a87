/** A webhook receiver for alert tests (node:http on an ephemeral port): records every POST, answers the queued statuses in turn (then 200). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received { delivery: string; signature: string; raw: string; body: any }

export async function webhookReceiver() {
  const got: Received[] = [];
  const statuses: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      got.push({ delivery: String(req.headers['x-aiaas-delivery']), signature: String(req.headers['x-aiaas-signature']), raw, body: JSON.parse(raw) });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { got, statuses, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
