/**
 * Reads manifests (files, directories' *.yaml|*.yml|*.json, or "-" for stdin)
 * into objects, with one-line errors naming the file and document.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '@kubemu/api';

export class ManifestError extends Error {
  readonly code = 'ERR_MANIFEST';
}

function filesOf(path: string): string[] {
  if (path === '-') return ['-'];
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ManifestError(`the path "${path}" does not exist`);
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

export function readManifests(paths: string[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const file of paths.flatMap(filesOf)) {
    const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
    const docs = parseAllDocuments(text);
    docs.forEach((doc, i) => {
      if (doc.errors.length) throw new ManifestError(`error parsing ${file} (document ${i + 1}): ${doc.errors[0].message.split('\n')[0]}`);
      const v = doc.toJS() as unknown;
      if (v === null || v === undefined) return;
      const items = (v as { kind?: string; items?: unknown[] }).kind?.endsWith('List') ? (v as { items: unknown[] }).items : [v];
      for (const item of items) {
        if (!item || typeof item !== 'object' || Array.isArray(item)) throw new ManifestError(`error parsing ${file} (document ${i + 1}): not an object`);
        const o = item as KubeObject;
        if (!o.apiVersion || !o.kind) throw new ManifestError(`error validating ${file}: apiVersion and kind must be set (document ${i + 1})`);
        out.push(o);
      }
    });
  }
  return out;
}
