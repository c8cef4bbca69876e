import { builder } from './builder.ts';

interface Health {
  ok: boolean;
  version: string;
  uptimeSeconds: number;
  activeRuns: number;
  queuedRuns: number;
  workerConcurrency: number;
}

const HealthRef = builder.objectRef<Health>('Health').implement({
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    version: t.exposeString('version'),
    uptimeSeconds: t.exposeFloat('uptimeSeconds'),
    activeRuns: t.exposeInt('activeRuns'),
    queuedRuns: t.exposeInt('queuedRuns'),
    workerConcurrency: t.exposeInt('workerConcurrency'),
  }),
});

builder.queryFields((t) => ({
  health: t.field({
    type: HealthRef,
    resolve: (_root, _args, ctx) => {
      const queue = ctx.queue.stats();
      return {
        ok: true,
        version: ctx.version,
        uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 100) / 10,
        activeRuns: queue.running,
        queuedRuns: queue.waiting,
        workerConcurrency: queue.concurrency,
      };
    },
  }),
}));
