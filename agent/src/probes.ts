// Liveness and readiness for the kubelet: /healthz answers while the process runs; /readyz
// once the agent holds its cluster credential (it then works even when the control plane is
// unreachable, so readiness does not depend on the stream).
import type { Server } from 'node:http';

// Not `import ... from 'node:http'`: an ES import of node:http reads every export, and its lazy
// WebSocket export loads Node's bundled undici, ~13 MiB of resident memory the agent never
// uses (see docs/benchmarks.md, agent footprint). The CommonJS exports object does not.
const { createServer } = process.getBuiltinModule('node:http');

export function startProbeServer(port: number, ready: () => boolean): Server {
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = ready();
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ok ? 'ready\n' : 'no credential yet\n');
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(port, '0.0.0.0');
  server.unref();
  return server;
}
