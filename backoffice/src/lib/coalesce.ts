/**
 * A refresh that live events may ask for many times a second (a panel whose revision moves with
 * every reading): at most one run at a time, at most one every `minIntervalMs`, and one more
 * after the last request so the final state is always read.
 */
export function coalesced(run: () => Promise<void>, minIntervalMs: number): () => void {
  let running = false;
  let pending = false;
  let lastStart = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const start = async (): Promise<void> => {
    timer = null;
    running = true;
    pending = false;
    lastStart = Date.now();
    try {
      await run();
    } finally {
      running = false;
      if (pending) request();
    }
  };

  function request(): void {
    if (running) {
      pending = true;
      return;
    }
    if (timer) return;
    const wait = Math.max(0, lastStart + minIntervalMs - Date.now());
    timer = setTimeout(() => void start(), wait);
  }
  return request;
}
