import { createLogUpdate } from 'log-update';
import type { RunEvent } from '../events/types.ts';
import { formatEvent } from './format.ts';
import { colorsFor, renderFrame, type Colors, type RunPicture } from './frame.ts';

/** Where a followed run's events go: a live view, or lines. `end` is called once, after the last event. */
export interface EventSink {
  event(event: RunEvent): void;
  end(): void;
}

/** One line per event (formatEvent), or one JSON object per line. */
export class LinePrinter implements EventSink {
  readonly #json: boolean;

  constructor(json: boolean) {
    this.#json = json;
  }

  event(event: RunEvent): void {
    console.log(this.#json ? JSON.stringify(event) : formatEvent(event));
  }

  end(): void {}
}

/** How often the live view redraws: running nodes' times and the spinner move even without events. */
const FRAME_MS = 100;

/**
 * The live terminal view: one line per node and a progress bar, redrawn in place (log-update) at
 * most every FRAME_MS however fast events come; the last frame stays on the screen after `end`.
 * For a TTY only: it hides the cursor while it draws (log-update shows it again on exit).
 */
export class LiveView implements EventSink {
  readonly #picture: RunPicture;
  readonly #stream: NodeJS.WriteStream;
  readonly #log: ReturnType<typeof createLogUpdate>;
  readonly #colors: Colors;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(picture: RunPicture, stream: NodeJS.WriteStream = process.stdout) {
    this.#picture = picture;
    this.#stream = stream;
    this.#colors = colorsFor(stream);
    this.#log = createLogUpdate(sized(stream), { showCursor: false });
    this.#render();
    this.#timer = setInterval(() => this.#render(), FRAME_MS);
    // The view never keeps the process alive: the run (or the connection) does.
    this.#timer.unref();
  }

  event(event: RunEvent): void {
    this.#picture.apply(event);
  }

  end(): void {
    clearInterval(this.#timer);
    this.#render();
    this.#log.done();
  }

  #render(): void {
    this.#log(renderFrame(this.#picture, { now: Date.now(), colors: this.#colors, height: this.#stream.rows || 24 }));
  }
}

/**
 * The terminal as log-update should see it. A terminal that reports 0×0 (a pseudo-terminal nobody
 * gave a size, as under `script` in a pipeline) would get no output at all from log-update, which
 * takes 0 rows at its word; such a size counts as unknown (80×24).
 */
function sized(stream: NodeJS.WriteStream): NodeJS.WritableStream {
  return Object.assign(Object.create(stream) as NodeJS.WriteStream, {
    write: stream.write.bind(stream),
    get columns() {
      return stream.columns || undefined;
    },
    get rows() {
      return stream.rows || undefined;
    },
  });
}

/**
 * The sink a command writes to: JSON lines with `json`; the live view with `watch` when stdout is
 * a terminal; else one line per event.
 */
export function chooseSink(options: { json: boolean; watch: boolean }, picture: () => RunPicture): EventSink {
  if (!options.json && options.watch && process.stdout.isTTY) return new LiveView(picture());
  return new LinePrinter(options.json);
}
