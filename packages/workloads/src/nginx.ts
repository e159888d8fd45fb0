/**
 * nginx: serves its welcome page on port 80 (any path), with nginx-like
 * headers and access log lines on stdout.
 */
import { createServer } from 'node:http';
import { clientIP, listen, onTerminate } from './http-util.js';

const PAGE = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>
<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

export async function nginx(opts: { port?: number } = {}): Promise<void> {
  const server = createServer((req, res) => {
    const status = req.method === 'GET' || req.method === 'HEAD' ? 200 : 405;
    res.writeHead(status, { Server: 'nginx/1.27.0', 'Content-Type': 'text/html' });
    res.end(req.method === 'HEAD' ? undefined : PAGE);
    console.log(`${clientIP(req.socket)} - - [${new Date().toUTCString()}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${PAGE.length} "-" "${req.headers['user-agent'] ?? '-'}"`);
  });
  onTerminate(() => server.close());
  await listen(server, opts.port ?? 80);
}
