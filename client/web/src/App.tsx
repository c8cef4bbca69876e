import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useQuery } from 'urql';
import { Canvas } from './components/Canvas.tsx';
import { Header } from './components/Header.tsx';
import { Inspector } from './components/Inspector.tsx';
import { ResumePanel } from './components/ResumePanel.tsx';
import { RunHeader } from './components/RunHeader.tsx';
import { RunPicker, type StatusFilter } from './components/RunPicker.tsx';
import { graphLabel, StartForm, type GraphOption } from './components/StartForm.tsx';
import { Timeline } from './components/Timeline.tsx';
import { useLifecycle } from './hooks/useLifecycle.ts';
import { useRunEvents } from './hooks/useRunEvents.ts';
import { foldEvents, isActive, type NodeAttempt } from './model/fold.ts';
import { kindLabel } from './model/layout.ts';
import { GraphsDocument, RunDetailDocument, RunListDocument } from './operations.ts';

/** The run named by `?run=<id>`, if any. */
function runFromUrl(): string | null {
  return new URLSearchParams(window.location.search).get('run') || null;
}

const ACTIVE = ['QUEUED', 'RUNNING', 'PAUSED'] as const;

export function App() {
  const [runId, setRunId] = useState<string | null>(runFromUrl);
  const [formGraphId, setFormGraphId] = useState<string>('');
  const [graphFilter, setGraphFilter] = useState('');
  const [statusFilter, setStatusFilter] = useState<StatusFilter>('ALL');
  const [selectedNodeId, setSelectedNodeId] = useState<string | null>(null);
  const [selectedKey, setSelectedKey] = useState<string | null>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  const now = useClock(10_000);

  // Deep links: ?run=<id> opens a run; back and forward move between the runs opened.
  const openRun = useCallback((id: string | null, how: 'push' | 'replace' = 'push') => {
    setRunId(id);
    setSelectedNodeId(null);
    setSelectedKey(null);
    setCursor(null);
    setPlaying(false);
    const url = new URL(window.location.href);
    if (id) url.searchParams.set('run', id);
    else url.searchParams.delete('run');
    if (url.href !== window.location.href) window.history[how === 'push' ? 'pushState' : 'replaceState'](null, '', url);
  }, []);
  useEffect(() => {
    const onPop = (): void => openRun(runFromUrl(), 'replace');
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, [openRun]);

  const [graphsResult, refetchGraphs] = useQuery({ query: GraphsDocument });
  const graphs = useMemo<GraphOption[]>(() => (graphsResult.data?.graphs.nodes ?? []).map((g) => ({ ...g })), [graphsResult.data]);
  const graphById = useMemo(() => new Map(graphs.map((g) => [g.id, g])), [graphs]);
  const formGraph = graphById.get(formGraphId) ?? graphById.get('code-review') ?? graphs[0];

  const filter = useMemo(() => {
    const status = statusFilter === 'ALL' ? undefined : statusFilter === 'ACTIVE' ? [...ACTIVE] : [statusFilter];
    return graphFilter || status ? { ...(graphFilter ? { graphId: graphFilter } : {}), ...(status ? { status } : {}) } : null;
  }, [graphFilter, statusFilter]);
  const [runsResult, refetchRuns] = useQuery({ query: RunListDocument, variables: { filter, first: 60 } });
  const refreshRuns = useThrottled(() => refetchRuns({ requestPolicy: 'network-only' }), 250);
  // Status changes arrive as events; progress does not, so poll for it while runs are active.
  const anyActive = (runsResult.data?.runs.nodes ?? []).some((run) => isActive(run.status));
  useEffect(() => {
    const timer = setInterval(() => refetchRuns({ requestPolicy: 'network-only' }), anyActive ? 1_500 : 5_000);
    return () => clearInterval(timer);
  }, [refetchRuns, anyActive]);

  const live = useRunEvents(runId);
  const runGraphId = live.events[0]?.graphId ?? runsResult.data?.runs.nodes.find((r) => r.id === runId)?.graphId ?? null;
  const runGraph = runGraphId ? graphById.get(runGraphId) : undefined;

  useLifecycle(
    (event) => {
      refreshRuns();
      if (!graphById.has(event.graphId)) refetchGraphs({ requestPolicy: 'network-only' });
    },
    () => {
      refreshRuns();
      refetchGraphs({ requestPolicy: 'network-only' });
    },
  );
  // A run of a graph created after the page loaded.
  useEffect(() => {
    if (runGraphId && graphsResult.data && !graphById.has(runGraphId)) refetchGraphs({ requestPolicy: 'network-only' });
  }, [runGraphId, graphById, graphsResult.data, refetchGraphs]);

  // The server's view of the run (its state, why it paused), refetched as events come, at most every 400 ms.
  const [detail, refetchDetail] = useQuery({ query: RunDetailDocument, variables: { id: runId ?? '' }, pause: runId === null });
  const lastSeq = live.picture.lastSeq;
  const refreshDetail = useThrottled(() => refetchDetail({ requestPolicy: 'network-only' }), 400);
  useEffect(() => {
    if (lastSeq > 0) refreshDetail();
  }, [lastSeq, refreshDetail]);

  // Replay: the picture after the first `cursor` events; playing moves the cursor on until the last one.
  const total = live.events.length;
  const isPlaying = playing && cursor !== null && cursor < total;
  useEffect(() => {
    if (!isPlaying) return;
    // Short runs step slowly enough to follow; long ones play in about ten seconds.
    const timer = setInterval(() => setCursor((c) => Math.min((c ?? 0) + 1, total)), Math.max(60, Math.min(350, 10_000 / Math.max(1, total))));
    return () => clearInterval(timer);
  }, [isPlaying, total]);
  const picture = useMemo(
    () => (cursor === null ? live.picture : foldEvents(live.events, cursor)),
    // live.version: events and picture are mutated in place.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [cursor, live.version, live.picture, live.events],
  );

  const serverRun = detail.data?.run;
  const state = useMemo(() => {
    if (!runId) return null;
    if (cursor !== null) {
      return picture.finalState !== null ? { value: picture.finalState, caption: 'final' } : picture.stepState !== null ? { value: picture.stepState, caption: 'as the latest step shown began' } : null;
    }
    if (serverRun) return { value: serverRun.state, caption: serverRun.status === 'COMPLETED' ? 'final' : 'after the latest completed step' };
    return null;
  }, [runId, cursor, picture, serverRun]);

  const canvasGraph = runId ? runGraph : formGraph;
  const nodeKinds = useMemo(() => new Map(canvasGraph?.nodes.map((n) => [n.id, kindLabel(canvasGraph.id, n)]) ?? []), [canvasGraph]);
  const selectAttempt = (attempt: NodeAttempt): void => {
    setSelectedNodeId(attempt.nodeId);
    setSelectedKey(attempt.key);
  };
  const notFound = runId !== null && detail.data !== undefined && detail.data.run === null;
  const paused = cursor === null && live.picture.status === 'PAUSED' && live.picture.pause;

  return (
    <div className="app">
      <Header />
      <div className="layout">
        <aside className="sidebar">
          {graphs.length > 0 && formGraph && (
            <StartForm
              graphs={graphs}
              graphId={formGraph.id}
              onGraphChange={(id) => {
                setFormGraphId(id);
                if (runId === null) setSelectedNodeId(null);
              }}
              onStarted={(id) => {
                openRun(id);
                refreshRuns();
              }}
            />
          )}
          {graphsResult.error && <p className="error-text panel">Could not load the graphs: {graphsResult.error.message}</p>}
          <RunPicker
            runs={runsResult.data?.runs.nodes ?? []}
            loading={runsResult.fetching && !runsResult.data}
            error={runsResult.error ? runsResult.error.message : null}
            graphs={graphs.map((g) => ({ id: g.id, label: graphLabel(g) }))}
            graphFilter={graphFilter}
            statusFilter={statusFilter}
            onGraphFilter={setGraphFilter}
            onStatusFilter={setStatusFilter}
            selectedRunId={runId}
            onSelect={(id) => openRun(id)}
            now={now}
          />
        </aside>
        <main className="stage">
          {runId !== null ? (
            notFound ? (
              <section className="run-header">
                <h1>No run {runId}</h1>
                <p className="muted">It may have been deleted with its graph, or the link is wrong. Pick a run on the left.</p>
              </section>
            ) : (
              <RunHeader
                runId={runId}
                graphId={runGraphId ?? '…'}
                graphLabel={runGraph ? graphLabel(runGraph) : (runGraphId ?? '…')}
                picture={picture}
                liveStatus={live.picture.status}
                events={live.events}
                cursor={cursor}
                onCursor={setCursor}
                playing={isPlaying}
                onPlaying={setPlaying}
                followError={live.error}
              />
            )
          ) : (
            <section className="run-header intro">
              <h1>{formGraph ? graphLabel(formGraph) : 'Flowcast'}</h1>
              <p className="muted">A preview of the graph. Start a run to watch it live, or pick one from the runs.</p>
            </section>
          )}
          {paused && runId && <ResumePanel key={`${runId}:${live.picture.pause!.seq}`} runId={runId} pause={live.picture.pause!} />}
          {canvasGraph ? (
            <Canvas
              graph={canvasGraph}
              picture={runId ? picture : null}
              version={live.version + (cursor ?? -1) * 1e9}
              selectedNodeId={selectedNodeId}
              onSelectNode={(id) => {
                setSelectedNodeId(id);
                setSelectedKey(null);
              }}
            />
          ) : (
            <div className="canvas canvas-empty muted">{graphsResult.fetching ? 'Loading graphs…' : runId ? 'Loading the run…' : 'No graphs.'}</div>
          )}
          {runId && !notFound && <Timeline picture={picture} version={live.version} live={cursor === null} clockOffset={live.clockOffset} selectedKey={selectedKey} onSelect={selectAttempt} />}
        </main>
        <Inspector
          picture={runId ? picture : null}
          version={live.version}
          nodeKinds={nodeKinds}
          selectedNodeId={selectedNodeId}
          selectedKey={selectedKey}
          onSelectAttempt={selectAttempt}
          onClose={() => {
            setSelectedNodeId(null);
            setSelectedKey(null);
          }}
          state={state}
        />
      </div>
    </div>
  );
}

/**
 * Calls the latest `fn` `ms` after the first call of the returned function, once for all the calls
 * in between: at most once per `ms` however often it is called, and always after the last call.
 */
function useThrottled(fn: () => void, ms: number): () => void {
  const latest = useRef(fn);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    latest.current = fn;
  });
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, ms);
  }, [ms]);
}

/** Date.now(), updated every `ms`. */
function useClock(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
