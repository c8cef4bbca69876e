import { BaseEdge, Background, Controls, Handle, MarkerType, Position, ReactFlow, ReactFlowProvider, useReactFlow, type Edge, type EdgeProps, type Node, type NodeProps } from '@xyflow/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { NODE_COLORS } from '../model/colors.ts';
import { formatMs, type NodeStatus, type RunPicture } from '../model/fold.ts';
import { bestDirection, layoutGraph, smoothPath, START_ID, type Direction, type GraphDef } from '../model/layout.ts';

interface FlowNodeData extends Record<string, unknown> {
  role: 'node' | 'start' | 'end';
  label: string;
  kind: string;
  status: NodeStatus;
  iteration: number;
  attempts: number;
  looping: boolean;
  selected: boolean;
  pausedHere: boolean;
  progress: { percent: number; message: string | null } | null;
  durationMs: number | null;
  direction: Direction;
  reached: boolean;
}

type FlowNode = Node<FlowNodeData, 'flow'>;

const STATUS_LABELS: Readonly<Record<NodeStatus, string>> = {
  pending: 'pending',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  skipped: 'skipped',
  interrupted: 'waiting for input',
};

function FlowNodeView({ data }: NodeProps<FlowNode>) {
  const horizontal = data.direction === 'LR';
  // Edges follow dagre's routes (RoutedEdge), so the handles are only there because edges need them.
  const handles = (
    <>
      <Handle type="target" position={horizontal ? Position.Left : Position.Top} isConnectable={false} />
      <Handle type="source" position={horizontal ? Position.Right : Position.Bottom} isConnectable={false} />
    </>
  );
  if (data.role !== 'node') {
    return (
      <div className={`fc-marker fc-marker-${data.role}${data.reached ? ' reached' : ''}`} data-marker={data.role}>
        {handles}
        {data.role === 'start' ? 'start' : 'end'}
      </div>
    );
  }
  const color = NODE_COLORS[data.status];
  return (
    <div
      className={`fc-node status-${data.status}${data.selected ? ' selected' : ''}${data.pausedHere ? ' paused-here' : ''}`}
      style={{ ['--status' as string]: color }}
      data-node-id={data.label}
      data-status={data.status}
      data-iteration={data.iteration}
      data-attempts={data.attempts}
      title={`${data.label} (${data.kind}): ${STATUS_LABELS[data.status]}${data.iteration > 0 ? `, iteration ${data.iteration}` : ''}. Click to inspect.`}
    >
      {handles}
      <div className="fc-node-head">
        <span className="fc-node-dot" aria-hidden="true" />
        <span className="fc-node-id">{data.label}</span>
        {(data.looping || data.iteration > 1) && data.iteration > 0 && (
          <span className="fc-badge fc-badge-iteration" title={`iteration ${data.iteration}`} data-badge="iteration">
            ↻ {data.iteration}
          </span>
        )}
        {data.attempts > 1 && (
          <span className="fc-badge fc-badge-attempt" title={`attempt ${data.attempts}`}>
            try {data.attempts}
          </span>
        )}
      </div>
      <div className="fc-node-sub">
        <span className="fc-node-status">
          {data.pausedHere ? 'paused before' : STATUS_LABELS[data.status]}
          {data.status === 'succeeded' && data.durationMs !== null ? ` · ${formatMs(data.durationMs)}` : ''}
        </span>
        <span className="fc-node-kind">{data.kind}</span>
      </div>
      {data.status === 'running' && data.progress && (
        <div className="fc-node-progress" title={data.progress.message ?? undefined}>
          <span style={{ width: `${Math.max(3, data.progress.percent)}%` }} />
        </div>
      )}
    </div>
  );
}

const nodeTypes = { flow: FlowNodeView };

interface RoutedEdgeData extends Record<string, unknown> {
  points: Array<{ x: number; y: number }>;
  labelX: number;
  labelY: number;
  text: string;
  taken: boolean;
}

/** An edge drawn along the route dagre laid out for it, its label where dagre kept room for it. */
function RoutedEdge({ data, style, markerEnd, sourceX, sourceY, targetX, targetY }: EdgeProps<Edge<RoutedEdgeData, 'routed'>>) {
  const points = data && data.points.length > 1 ? data.points : [{ x: sourceX, y: sourceY }, { x: targetX, y: targetY }];
  return (
    <BaseEdge
      path={smoothPath(points)}
      {...(style ? { style } : {})}
      {...(markerEnd ? { markerEnd } : {})}
      {...(data?.text
        ? {
            label: data.text,
            labelX: data.labelX,
            labelY: data.labelY,
            labelShowBg: true,
            labelBgPadding: [5, 2] as [number, number],
            labelBgBorderRadius: 4,
            labelStyle: { fontSize: 11, fill: data.taken ? '#047857' : '#475569', fontWeight: data.taken ? 600 : 400 },
            labelBgStyle: { fill: data.taken ? '#ecfdf5' : '#f8fafc', stroke: data.taken ? '#a7f3d0' : '#e2e8f0' },
          }
        : {})}
    />
  );
}

const edgeTypes = { routed: RoutedEdge };

interface Props {
  graph: GraphDef;
  picture: RunPicture | null;
  version: number;
  selectedNodeId: string | null;
  onSelectNode(nodeId: string | null): void;
}

/**
 * The graph, laid out by dagre in whichever direction fits the box better, coloured by the run's
 * picture: node status (pulsing while running or failed), iteration badges on looping nodes, edges
 * animated while data flows along them and drawn bold once taken.
 */
export function Canvas(props: Props) {
  return (
    <ReactFlowProvider>
      <CanvasInner {...props} />
    </ReactFlowProvider>
  );
}

function CanvasInner({ graph, picture, version, selectedNodeId, onSelectNode }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 800, height: 400 });
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setSize({ width: Math.round(entry.contentRect.width), height: Math.round(entry.contentRect.height) });
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const direction = useMemo(() => bestDirection(graph, size.width, size.height), [graph, size.width, size.height]);
  const layout = useMemo(() => layoutGraph(graph, direction), [graph, direction]);

  const lastDuration = useMemo(() => {
    const durations = new Map<string, number | null>();
    for (const attempt of picture?.attempts ?? []) durations.set(attempt.nodeId, attempt.durationMs);
    return durations;
    // version: the picture is mutated in place.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [picture, version]);

  const nodes = useMemo<FlowNode[]>(() => {
    const started = picture !== null && picture.startedAt !== null;
    const ended = picture?.status === 'COMPLETED';
    return layout.nodes.map((laid) => {
      const node = picture?.nodes.get(laid.id);
      return {
        id: laid.id,
        type: 'flow',
        position: { x: laid.x, y: laid.y },
        width: laid.width,
        height: laid.height,
        draggable: false,
        connectable: false,
        selectable: laid.role === 'node',
        data: {
          role: laid.role,
          label: laid.id,
          kind: laid.kind,
          status: node?.status ?? 'pending',
          iteration: node?.iteration ?? 0,
          attempts: node?.attempts ?? 0,
          looping: laid.looping,
          selected: laid.id === selectedNodeId,
          pausedHere: picture?.status === 'PAUSED' && picture.pause?.nodeId === laid.id && picture.pause.cause === 'BEFORE',
          progress: node?.progress ?? null,
          durationMs: lastDuration.get(laid.id) ?? null,
          direction,
          reached: laid.role === 'start' ? started : ended,
        },
      };
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [layout, picture, version, selectedNodeId, direction, lastDuration]);

  const edges = useMemo<Array<Edge<RoutedEdgeData, 'routed'>>>(() => {
    return layout.edges.map((laid) => {
      const state = picture?.edges.get(laid.id);
      const startTaken = laid.source === START_ID && picture !== null && (picture.nodes.get(laid.target)?.iteration ?? 0) > 0;
      const taken = (state?.taken ?? 0) > 0 || startTaken;
      const flowing = state?.flowing ?? false;
      const color = flowing ? '#3b82f6' : taken ? '#10b981' : '#cbd5e1';
      // How often a loop edge was taken says how many rounds the run went.
      const text = [laid.label, state && state.taken > 1 ? `×${state.taken}` : null].filter(Boolean).join(' · ');
      return {
        id: laid.id,
        source: laid.source,
        target: laid.target,
        type: 'routed',
        animated: flowing,
        className: `${taken ? 'taken' : 'untaken'}${flowing ? ' flowing' : ''}`,
        style: { stroke: color, strokeWidth: taken || flowing ? 2.5 : 1.5, strokeDasharray: laid.kind === 'ROUTER' && !taken && !flowing ? '5 4' : undefined },
        markerEnd: { type: MarkerType.ArrowClosed, color, width: 16, height: 16 },
        selectable: false,
        focusable: false,
        data: { points: laid.points, labelX: laid.labelX, labelY: laid.labelY, text, taken },
      };
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [layout, picture, version]);

  return (
    <div className="canvas" ref={box} data-direction={direction}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        minZoom={0.2}
        maxZoom={1.6}
        fitView
        fitViewOptions={{ padding: 0.12, maxZoom: 1.1 }}
        onNodeClick={(_event, node) => node.data.role === 'node' && onSelectNode(node.id)}
        onPaneClick={() => onSelectNode(null)}
        proOptions={{ hideAttribution: false }}
      >
        <FitOnChange layoutKey={`${graph.id}:${direction}`} width={size.width} height={size.height} />
        <Background gap={20} size={1} color="#e2e8f0" />
        <Controls showInteractive={false} position="bottom-right" />
      </ReactFlow>
    </div>
  );
}

/** Fits the drawing into the box when the graph, the direction or the box changes. */
function FitOnChange({ layoutKey, width, height }: { layoutKey: string; width: number; height: number }) {
  const flow = useReactFlow();
  useEffect(() => {
    const frame = requestAnimationFrame(() => void flow.fitView({ padding: 0.12, maxZoom: 1.1 }));
    return () => cancelAnimationFrame(frame);
  }, [flow, layoutKey, width, height]);
  return null;
}
