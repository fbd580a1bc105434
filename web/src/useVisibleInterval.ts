import { useEffect, useRef } from "react";

/**
 * Runs `task` now and every `ms` while the page is visible (a hidden tab polls nothing),
 * and at once when the page becomes visible again.
 */
export function useVisibleInterval(task: () => void, ms: number): void {
  const latest = useRef(task);
  latest.current = task;

  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      if (timer === undefined && document.visibilityState === "visible") {
        latest.current();
        timer = setInterval(() => latest.current(), ms);
      }
    };
    const stop = () => {
      clearInterval(timer);
      timer = undefined;
    };
    const onVisibility = () => (document.visibilityState === "visible" ? start() : stop());
    start();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      stop();
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [ms]);
}
