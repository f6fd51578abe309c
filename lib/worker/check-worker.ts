// A throwaway thread that loads the run's processor once (see check.ts) and says how it went.
import { parentPort, workerData } from 'node:worker_threads';
import { loadProcessor } from './load.js';

try {
  await loadProcessor((workerData as { spec: string }).spec);
  parentPort!.postMessage({ ok: true });
} catch (err) {
  const e = err as { name?: string; message?: string; code?: string };
  parentPort!.postMessage({ ok: false, name: e?.name ?? 'Error', message: e?.message ?? String(err), code: e?.code ?? null });
}
