/**
 * Running nftables scripts in this process's network namespace.
 *
 * Spawning `nft` costs ~30 ms per transaction (process start, library
 * init, a fresh ruleset cache) where the same update through a
 * long-lived libnftables context costs ~5 ms; an EndpointSlice update
 * pays that on every node. So kube-proxy loads libnftables (the library
 * the `nft` binary is made of) through koffi and keeps one context per
 * process; calls run on the libuv thread pool, one at a time (a context
 * is not thread-safe). When the library cannot be loaded the `nft`
 * binary is used instead, with the same results.
 */
import { run, type RunResult } from '@kubemu/netns';

export interface NftRunner {
  /** `libnftables` (in process) or `nft` (spawned per call). */
  readonly kind: 'libnftables' | 'nft';
  /** Why the nft binary is used although libnftables was wanted. */
  readonly fallbackReason?: string;
  /**
   * Runs an nft script (as `nft -f -` would); stdout is what list commands
   * print, as JSON with `json` (`nft -j`).
   */
  run(script: string, opts?: { json?: boolean }): Promise<RunResult>;
}

/** libnftables' NFT_CTX_OUTPUT_JSON output flag (what `nft -j` sets). */
const OUTPUT_JSON = 1 << 4;

type Call = (...args: unknown[]) => unknown;
interface AsyncCall extends Call {
  async(...args: unknown[]): void;
}

type Lib = { func(decl: string): AsyncCall };

class LibNftables implements NftRunner {
  readonly kind = 'libnftables';
  readonly #lib: Lib;
  readonly #ctx: unknown;
  /** A second context whose output is JSON, made on first use. */
  #jsonCtx: unknown;
  readonly #runCmd: AsyncCall;
  readonly #out: Call;
  readonly #err: Call;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(koffi: { load(path: string): Lib }) {
    const lib = (this.#lib = koffi.load('libnftables.so.1'));
    this.#runCmd = lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)');
    this.#out = lib.func('const char *nft_ctx_get_output_buffer(void *ctx)');
    this.#err = lib.func('const char *nft_ctx_get_error_buffer(void *ctx)');
    this.#ctx = this.#newContext(0);
  }

  #newContext(outputFlags: number): unknown {
    const ctx = this.#lib.func('void *nft_ctx_new(uint32_t flags)')(0);
    if (!ctx) throw new Error('nft_ctx_new failed');
    // Output and errors go to buffers read (and rewound) after each call, not to our stdout/stderr.
    if (this.#lib.func('int nft_ctx_buffer_output(void *ctx)')(ctx) !== 0) throw new Error('nft_ctx_buffer_output failed');
    if (this.#lib.func('int nft_ctx_buffer_error(void *ctx)')(ctx) !== 0) throw new Error('nft_ctx_buffer_error failed');
    if (outputFlags) this.#lib.func('void nft_ctx_output_set_flags(void *ctx, uint32_t flags)')(ctx, outputFlags);
    return ctx;
  }

  run(script: string, opts: { json?: boolean } = {}): Promise<RunResult> {
    const next = this.#queue.then(() => {
      if (!opts.json) return this.#call(this.#ctx, script);
      try {
        this.#jsonCtx ??= this.#newContext(OUTPUT_JSON);
      } catch (e) {
        return { code: -1, stdout: '', stderr: `libnftables JSON context: ${(e as Error).message}` };
      }
      return this.#call(this.#jsonCtx, script);
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #call(ctx: unknown, script: string): Promise<RunResult> {
    return new Promise((resolve) => {
      const done = (err: unknown, rc: number) => {
        try {
          const stdout = String(this.#out(ctx) ?? '');
          const stderr = String(this.#err(ctx) ?? '');
          if (err) resolve({ code: -1, stdout, stderr: (err as Error).message ?? String(err) });
          else resolve({ code: rc === 0 ? 0 : 1, stdout, stderr });
        } catch (e) {
          resolve({ code: -1, stdout: '', stderr: `reading libnftables buffers failed: ${(e as Error).message}` });
        }
      };
      try {
        this.#runCmd.async(ctx, script, done);
      } catch (e) {
        resolve({ code: -1, stdout: '', stderr: `calling libnftables failed: ${(e as Error).message}` });
      }
    });
  }
}

const spawnNft = (fallbackReason?: string): NftRunner => ({
  kind: 'nft',
  fallbackReason,
  run: (script, opts) => run('nft', [...(opts?.json ? ['-j'] : []), '-f', '-'], { input: script, allowFail: true }),
});

let shared: Promise<NftRunner> | undefined;

/** This process's nftables runner: libnftables when it loads, else the nft binary (`fallbackReason` says why). */
export function nftRunner(): Promise<NftRunner> {
  shared ??= (async () => {
    if (process.env.KUBEMU_NFT === 'binary') return spawnNft();
    try {
      const koffi = (await import('koffi')).default as unknown as ConstructorParameters<typeof LibNftables>[0];
      return new LibNftables(koffi);
    } catch (err) {
      return spawnNft(`libnftables not usable (${(err as Error).message}); running the nft binary per transaction`);
    }
  })();
  return shared;
}
