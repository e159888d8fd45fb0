/**
 * One request of a chaos run, as written to the results file (one JSON line
 * each), and the JSON-lines writer.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export interface RequestRecord {
  /** Wall-clock time the request was due (ms since the epoch). */
  t: number;
  /** Milliseconds since traffic started (phases and the timeline use this). */
  at: number;
  target: string;
  /** HTTP status, when an answer came. */
  status?: number;
  /** Why no answer came: ECONNREFUSED, ETIMEDOUT (no answer within traffic.timeoutMs), ECONNRESET, …, or SKIPPED (not sent: every connection was busy). */
  error?: string;
  latencyMs: number;
  /** Keep-alive: whether the request went over a connection opened before. */
  reused?: boolean;
  /** The pod that answered (from the reply: kubia's "You've hit POD", echo's {"pod": …}, agnhost's hostname). */
  pod?: string;
  /** That pod's node, from the pod tracker (or the reply). */
  node?: string;
  /** Whether that pod was Ready (and not terminating) when the answer came, as the API said then. */
  podReady?: boolean;
}

export const isOk = (r: RequestRecord): boolean => r.error === undefined && r.status !== undefined && r.status >= 200 && r.status < 400;

/** How a failed request failed: its error code, or "HTTP <status>". */
export const errorKind = (r: RequestRecord): string => r.error ?? `HTTP ${r.status}`;

export interface RecordSink {
  write(r: RequestRecord): void;
  close(): Promise<void>;
}

/** Appends records to a file, one JSON object per line. */
export class JsonlRecorder implements RecordSink {
  private readonly out: WriteStream;
  count = 0;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.out = createWriteStream(path, { flags: 'w' });
  }

  write(r: RequestRecord): void {
    this.count++;
    this.out.write(`${JSON.stringify(r)}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(() => resolve());
    });
  }
}

/** Keeps records in memory (tests, and the report). */
export class MemorySink implements RecordSink {
  readonly records: RequestRecord[] = [];
  write(r: RequestRecord): void {
    this.records.push(r);
  }
  async close(): Promise<void> {}
}

/** Writes to each sink. */
export function teeSink(...sinks: RecordSink[]): RecordSink {
  return {
    write: (r) => sinks.forEach((s) => s.write(r)),
    close: async () => {
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
