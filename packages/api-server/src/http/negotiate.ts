/**
 * Content negotiation: does the client want a meta.k8s.io Table (kubectl get)?
 */
export interface Wants {
  table: boolean;
  includeObject: 'None' | 'Metadata' | 'Object';
}

export function negotiate(accept: string | undefined, query: URLSearchParams): Wants {
  const first = (accept ?? '').split(',')[0] ?? '';
  const params = Object.fromEntries(
    first
      .split(';')
      .slice(1)
      .map((p) => p.trim().split('=') as [string, string]),
  );
  const table = params.as === 'Table' && (params.g === 'meta.k8s.io' || params.g === undefined);
  const inc = query.get('includeObject');
  const includeObject = inc === 'None' || inc === 'Object' || inc === 'Metadata' ? inc : 'Metadata';
  return { table, includeObject };
}
