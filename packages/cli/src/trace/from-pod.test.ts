import { describe, expect, it } from 'vitest';
import type { Pod } from '@kubemu/api';
import { fromPodScript, parseCurlOutput } from './from-pod.js';

const T = '\n__kubemu_trace__';

describe('curl inside a pod', () => {
  it('reads the body, the status and the addresses from the -w trailer', () => {
    expect(parseCurlOutput(`You've hit kubia-n2\n${T} 200 10.244.1.3 24654 10.102.216.44 80 0.004512 20`, '', 0)).toEqual({
      local: { ip: '10.244.1.3', port: 24654 },
      remote: { ip: '10.102.216.44', port: 80 },
      response: { status: 200, bytes: 20, ms: 5, body: "You've hit kubia-n2\n" },
    });
  });

  it("a failure is curl's message, with the ports it had", () => {
    expect(parseCurlOutput(`${T} 000 10.244.1.3 24655 10.98.217.127 80 0.001 0`, 'curl: (7) Failed to connect to 10.98.217.127 port 80 after 1 ms: Connection refused\n', 7)).toEqual({
      local: { ip: '10.244.1.3', port: 24655 },
      remote: { ip: '10.98.217.127', port: 80 },
      response: { error: 'Failed to connect to 10.98.217.127 port 80 after 1 ms: Connection refused', ms: 1 },
    });
    expect(parseCurlOutput('', 'curl: (6) Could not resolve host: nope.default.svc.cluster.local\n', 6).response).toEqual({ error: 'Could not resolve host: nope.default.svc.cluster.local', ms: 0 });
  });

  it("enters the pod's network and mount namespaces (its resolv.conf), URL quoted", () => {
    const pod = { metadata: { name: 'client', uid: '6f1c2a7e-1111-2222-3333-444455556666' }, spec: { containers: [] } } as unknown as Pod;
    const s = fromPodScript('lab', pod, "http://x/?a='b'", 10_000, 24000);
    expect(s).toContain('nsenter --target "$pid" --net --mount --uts -- ');
    expect(s).toContain("'--local-port' '24000'");
    expect(s).toContain(`'http://x/?a='\\''b'\\'''`);
    expect(s).toContain("'--max-time' '10'");
  });
});
