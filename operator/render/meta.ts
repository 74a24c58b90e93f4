// Names, labels and owner references of the objects rendered for a RocksetSink (pure).
import { API_VERSION, GROUP, KIND, type RocksetSink } from '../api/rocksetsink.ts';

export const APP_NAME = 'rockset-sink';
export const MANAGED_BY = 'rockset-sink-operator';

/** Pod template annotations that roll the workers when they change. */
export const CONFIG_CHECKSUM_ANNOTATION = `${GROUP}/config-checksum`;
export const SECRETS_CHECKSUM_ANNOTATION = `${GROUP}/secrets-checksum`;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
}

export interface ObjectMetaOut {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ownerReferences: OwnerReference[];
}

export const deploymentName = (sink: RocksetSink): string => `${sink.metadata.name}-sink`;
export const configMapName = (sink: RocksetSink): string => `${sink.metadata.name}-sink-config`;

/** The labels selecting a sink's pods (immutable in a Deployment: never add to them). */
export function selectorLabels(sink: RocksetSink): Record<string, string> {
  return { 'app.kubernetes.io/name': APP_NAME, 'app.kubernetes.io/instance': sink.metadata.name };
}

/** status.selector, for the scale subresource (and kubectl scale / HPA). */
export function selectorString(sink: RocksetSink): string {
  return Object.entries(selectorLabels(sink))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function commonLabels(sink: RocksetSink): Record<string, string> {
  return { ...selectorLabels(sink), 'app.kubernetes.io/component': 'sink', 'app.kubernetes.io/managed-by': MANAGED_BY };
}

export function ownerReference(sink: RocksetSink): OwnerReference {
  return { apiVersion: API_VERSION, kind: KIND, name: sink.metadata.name, uid: sink.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export function objectMeta(sink: RocksetSink, name: string): ObjectMetaOut {
  return { name, namespace: sink.metadata.namespace, labels: commonLabels(sink), ownerReferences: [ownerReference(sink)] };
}
