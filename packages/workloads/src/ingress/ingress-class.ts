/**
 * Which Ingresses this controller serves (its IngressClass is `--ingress-class`,
 * "kubemu" by default):
 *   - annotation kubernetes.io/ingress.class (deprecated, but still honoured
 *     first, as ingress-nginx does): served when it names our class or "nginx";
 *   - spec.ingressClassName: served when it names our class;
 *   - neither: served unless another IngressClass is the cluster default
 *     (ingressclass.kubernetes.io/is-default-class: "true") and ours is not.
 */
import type { Ingress, IngressClass } from '@kubemu/api';

export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** The annotation value ingress-nginx answers to; kubemu answers to it too so book examples work. */
export const NGINX_CLASS = 'nginx';

export function isDefaultClass(c: IngressClass): boolean {
  return c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';
}

export function servesIngress(ing: Ingress, classes: readonly IngressClass[], ourClass: string): boolean {
  const legacy = ing.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined && legacy !== '') return legacy === ourClass || legacy === NGINX_CLASS;
  const name = ing.spec?.ingressClassName;
  if (name) return name === ourClass;
  const defaults = classes.filter(isDefaultClass);
  return defaults.length === 0 || defaults.some((c) => c.metadata.name === ourClass);
}
