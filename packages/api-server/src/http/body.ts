/**
 * Reads a request body with a size limit and decodes JSON or YAML.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { errors } from '@kubemu/api';
import { decodeProtobuf, PROTOBUF_MEDIA_TYPE } from './protobuf/index.js';

/** Kubernetes' limit on a request body. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      reject(errors.tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(errors.tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(errors.badRequest(`reading the request body failed: ${e.message}`));
    });
  });
}

/** Decodes a body per its media type; errors are 400 Statuses with the parser's reason. */
export function decodeBody(buf: Buffer, contentType: string | undefined): unknown {
  const type = (contentType ?? 'application/json').split(';')[0].trim().toLowerCase();
  // kubectl >= 1.32's typed clients (kubectl create deployment|configmap|...) send protobuf.
  if (type === PROTOBUF_MEDIA_TYPE) return decodeProtobuf(buf);
  const text = buf.toString('utf8');
  if (text.trim() === '') throw errors.badRequest('the request body is empty; send a JSON or YAML object');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml' || type === 'text/yaml') {
    try {
      return parseYaml(text);
    } catch (e) {
      throw errors.badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
  }
  if (type.includes('protobuf')) throw errors.unsupportedMediaType(type);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw errors.badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
  }
}
