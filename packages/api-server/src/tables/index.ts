/**
 * Server-side printing: the `meta.k8s.io/v1` Table kube-apiserver returns when
 * kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.
 *
 * A Table has the column definitions of the resource (all of them: kubectl
 * hides priority-1 columns unless `-o wide`) and one row per object with the
 * cells as kube-apiserver's printers compute them, plus the object itself:
 * whole for includeObject=Object, as PartialObjectMetadata for Metadata (the
 * default, what kubectl asks for), none for None. Ages are relative to
 * `opts.now`.
 */
import type { KubeObject, ObjectMeta, ResourceInfo } from '@kubemu/api';
import { COLUMNS, type TableColumnDefinition } from './columns.js';
import { podRow, type TableRowCondition } from './pod.js';
import {
  configMapCells,
  serviceAccountCells,
  defaultCells,
  deploymentCells,
  endpointSliceCells,
  endpointsCells,
  eventCells,
  ingressCells,
  ingressClassCells,
  namespaceCells,
  nodeCells,
  replicaSetCells,
  replicationControllerCells,
  secretCells,
  serviceCells,
  type Cells,
} from './printers.js';

export type { TableColumnDefinition } from './columns.js';
export type { TableRowCondition } from './pod.js';
export { humanDuration } from './duration.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: 'meta.k8s.io/v1';
  metadata: ObjectMeta;
}

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  object?: KubeObject | PartialObjectMetadata;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface TableOptions {
  /** What each row carries of its object; kubectl asks for Metadata. Defaults to Metadata. */
  includeObject?: IncludeObject;
  /** The clock for AGE cells; defaults to the current time. */
  now?: Date;
  resourceVersion: string;
  /** List continuation, copied into the Table's metadata. */
  continue?: string;
  remainingItemCount?: number;
  /** TableOptions.noHeaders: omit the column definitions (rows only). */
  noHeaders?: boolean;
}

type Printer = (obj: KubeObject, now: Date) => { cells: Cells; conditions?: TableRowCondition[] };
const cellsOnly =
  (fn: (obj: KubeObject, now: Date) => Cells): Printer =>
  (obj, now) => ({ cells: fn(obj, now) });

/** Printers by "plural" (core group) or "plural.group". */
const PRINTERS: Readonly<Record<string, { columns: TableColumnDefinition[]; print: Printer }>> = {
  pods: { columns: COLUMNS.pods, print: podRow },
  services: { columns: COLUMNS.services, print: cellsOnly(serviceCells) },
  endpoints: { columns: COLUMNS.endpoints, print: cellsOnly(endpointsCells) },
  nodes: { columns: COLUMNS.nodes, print: cellsOnly(nodeCells) },
  namespaces: { columns: COLUMNS.namespaces, print: cellsOnly(namespaceCells) },
  secrets: { columns: COLUMNS.secrets, print: cellsOnly(secretCells) },
  configmaps: { columns: COLUMNS.configmaps, print: cellsOnly(configMapCells) },
  serviceaccounts: { columns: COLUMNS.serviceaccounts, print: cellsOnly(serviceAccountCells) },
  events: { columns: COLUMNS.events, print: cellsOnly(eventCells) },
  replicationcontrollers: { columns: COLUMNS.replicationcontrollers, print: cellsOnly(replicationControllerCells) },
  'endpointslices.discovery.k8s.io': { columns: COLUMNS.endpointslices, print: cellsOnly(endpointSliceCells) },
  'ingresses.networking.k8s.io': { columns: COLUMNS.ingresses, print: cellsOnly(ingressCells) },
  'ingressclasses.networking.k8s.io': { columns: COLUMNS.ingressclasses, print: cellsOnly(ingressClassCells) },
  'deployments.apps': { columns: COLUMNS.deployments, print: cellsOnly(deploymentCells) },
  'replicasets.apps': { columns: COLUMNS.replicasets, print: cellsOnly(replicaSetCells) },
};

const DEFAULT_PRINTER = { columns: COLUMNS.default, print: cellsOnly(defaultCells) };

function printerFor(resource: ResourceInfo) {
  const key = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
  return Object.prototype.hasOwnProperty.call(PRINTERS, key) ? PRINTERS[key] : DEFAULT_PRINTER;
}

function rowObject(obj: KubeObject, include: IncludeObject): KubeObject | PartialObjectMetadata | undefined {
  switch (include) {
    case 'Object':
      return obj;
    case 'None':
      return undefined;
    default:
      return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
  }
}

export function toTable(resource: ResourceInfo, items: KubeObject[], opts: TableOptions): Table {
  const printer = printerFor(resource);
  const now = opts.now ?? new Date();
  const include = opts.includeObject ?? 'Metadata';
  const metadata: Table['metadata'] = { resourceVersion: opts.resourceVersion };
  if (opts.continue) metadata.continue = opts.continue;
  if (opts.remainingItemCount !== undefined) metadata.remainingItemCount = opts.remainingItemCount;

  const rows = items.map((obj): TableRow => {
    const { cells, conditions } = printer.print(obj, now);
    const row: TableRow = { cells };
    if (conditions) row.conditions = conditions;
    const object = rowObject(obj, include);
    if (object) row.object = object;
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: opts.noHeaders ? [] : printer.columns.map((c) => ({ ...c })),
    rows,
  };
}
