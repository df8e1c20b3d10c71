import { useCallback, type DragEvent } from 'react';
import {
  Background,
  BezierEdge,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type NodeChange,
  type OnDelete,
  type IsValidConnection,
} from '@xyflow/react';
import { FlowNodeView } from './FlowNodeView';
import type { CanvasEdge, CanvasNode } from './mapping';
import { useTheme } from '../theme/theme';

const nodeTypes = { flow: FlowNodeView } as const;
const edgeTypes = { flow: BezierEdge } as const;

export const PALETTE_MIME = 'application/x-flomation-node-type';

export interface FlowCanvasProps {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
  readOnly?: boolean;
  onNodesChange?: (changes: NodeChange<CanvasNode>[]) => void;
  onEdgesChange?: (changes: EdgeChange<CanvasEdge>[]) => void;
  onConnect?: (connection: Connection) => void;
  onDelete?: OnDelete<CanvasNode, CanvasEdge>;
  isValidConnection?: IsValidConnection<CanvasEdge>;
  onDropType?: (type: string, position: { x: number; y: number }) => void;
  onNodeClick?: (id: string) => void;
  onPaneClick?: () => void;
  testId?: string;
}

/** Draws a graph. Everything it shows comes in through props; edits go out through callbacks. */
export function FlowCanvas(props: FlowCanvasProps) {
  const { theme } = useTheme();
  const { screenToFlowPosition } = useReactFlow();
  const { onDropType } = props;

  const onDrop = useCallback(
    (event: DragEvent) => {
      const type = event.dataTransfer.getData(PALETTE_MIME);
      if (!type || !onDropType) return;
      event.preventDefault();
      onDropType(type, screenToFlowPosition({ x: event.clientX, y: event.clientY }));
    },
    [onDropType, screenToFlowPosition],
  );

  return (
    <div className="canvas" data-testid={props.testId ?? 'canvas'} data-readonly={props.readOnly ? 'true' : 'false'}>
      <ReactFlow<CanvasNode, CanvasEdge>
        nodes={props.nodes}
        edges={props.edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        colorMode={theme}
        onNodesChange={props.onNodesChange}
        onEdgesChange={props.onEdgesChange}
        onConnect={props.readOnly ? undefined : props.onConnect}
        onDelete={props.readOnly ? undefined : props.onDelete}
        isValidConnection={props.isValidConnection}
        onNodeClick={(_event, node) => props.onNodeClick?.(node.id)}
        onPaneClick={props.onPaneClick}
        onDragOver={(event) => {
          if (!props.readOnly && event.dataTransfer.types.includes(PALETTE_MIME)) {
            event.preventDefault();
            event.dataTransfer.dropEffect = 'move';
          }
        }}
        onDrop={props.readOnly ? undefined : onDrop}
        nodesDraggable={!props.readOnly}
        nodesConnectable={!props.readOnly}
        elementsSelectable
        deleteKeyCode={props.readOnly ? null : ['Delete', 'Backspace']}
        multiSelectionKeyCode={['Meta', 'Control', 'Shift']}
        selectionKeyCode="Shift"
        fitView
        fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }}
        minZoom={0.1}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable ariaLabel="Flow overview" style={{ width: 150, height: 100 }} />
      </ReactFlow>
    </div>
  );
}
