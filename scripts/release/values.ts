/** The pure parts of the release: where RELEASE_REGISTRY points, and the chart's values pinned to a digest. */
import { parseDocument } from 'yaml';

export interface RegistryTarget {
  /** host[:port]/namespace, as given. */
  readonly registry: string;
  readonly host: string;
  readonly namespace: string;
  /** Plain HTTP (no TLS): only for a registry on this machine. */
  readonly plainHttp: boolean;
}

const HOST =
  /^(localhost|\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)(:\d{1,5})?$/;
const NAMESPACE = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/** Parses RELEASE_REGISTRY=host[:port]/namespace; throws with what is wrong. */
export function registryTarget(text: string): RegistryTarget {
  const value = text.trim();
  if (!value) throw new Error('RELEASE_REGISTRY is not set: give host[:port]/namespace, e.g. ghcr.io/acme');
  if (/^[a-z]+:\/\//i.test(value))
    throw new Error(`RELEASE_REGISTRY must not carry a scheme (${value}): give host[:port]/namespace`);
  const slash = value.indexOf('/');
  const host = slash < 0 ? value : value.slice(0, slash);
  const namespace = slash < 0 ? '' : value.slice(slash + 1);
  if (!HOST.test(host)) throw new Error(`RELEASE_REGISTRY: "${host}" is not a registry host[:port]`);
  if (!NAMESPACE.test(namespace))
    throw new Error(
      `RELEASE_REGISTRY: "${namespace}" is not a repository namespace (lower case, e.g. acme or acme/tools)`,
    );
  const bare = host.replace(/:\d+$/, '');
  return {
    registry: `${host}/${namespace}`,
    host,
    namespace,
    plainHttp: bare === 'localhost' || bare === '127.0.0.1',
  };
}

/** values.yaml with image.registry/repository set to the pushed repository and image.digest to its digest (comments kept). */
export function pinImage(valuesYaml: string, image: { repository: string; digest: string }): string {
  if (!/^sha256:[a-f0-9]{64}$/.test(image.digest)) throw new Error(`not an image digest: ${image.digest}`);
  const slash = image.repository.indexOf('/');
  const doc = parseDocument(valuesYaml);
  if (!doc.hasIn(['image', 'digest'])) throw new Error('values.yaml has no image.digest to pin');
  doc.setIn(['image', 'registry'], image.repository.slice(0, slash));
  doc.setIn(['image', 'repository'], image.repository.slice(slash + 1));
  doc.setIn(['image', 'tag'], '');
  doc.setIn(['image', 'digest'], image.digest);
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
