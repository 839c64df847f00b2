import type { Config } from '../config/index.js';
import { watchedConfigMaps } from '../core/kubernetes-reading.js';
import type { ConfigMapVersion } from '../core/model.js';
import { createConfigMapApi } from '../sources/kubernetes-ha/configmap-api.js';
import { decodeConfigMap } from '../sources/kubernetes-ha/decode.js';
import { loadInClusterKubeConfig, loadKubeConfigFile } from '../sources/kubernetes/kube-client.js';
import { STATUS_EXIT, table, type StatusResult } from './status.js';

interface ConfigMapStatus {
  configMap: string;
  layout: string;
  exists: boolean;
  version: ConfigMapVersion | null;
}

/**
 * `status` for Kubernetes HA: reads each HA ConfigMap once and shows its lock and leader
 * information. One read cannot tell who wrote the information (the sidecar learns that by
 * watching), so exit 0 means only that a holder holds the lock and leader information is published.
 */
export async function runKubernetesStatus(config: Config, json: boolean, timeoutMs: number): Promise<StatusResult> {
  const clusterId = config.kubernetesClusterId ?? '';
  const where = `${config.kubernetesNamespace}/${clusterId}`;
  try {
    const kubeConfig = config.kubeconfig === null ? loadInClusterKubeConfig() : loadKubeConfigFile(config.kubeconfig);
    const api = createConfigMapApi(kubeConfig, {
      namespace: config.kubernetesNamespace,
      requestTimeoutMs: timeoutMs,
      watchTimeoutSeconds: 1,
    });
    const shown: ConfigMapStatus[] = await Promise.all(
      watchedConfigMaps(clusterId, config.layout).map(async ({ name, layout }) => {
        const { configMap } = await api.list(name);
        return {
          configMap: name,
          layout,
          exists: configMap !== null,
          version: configMap === null ? null : decodeConfigMap(configMap, layout),
        };
      }),
    );
    const current = shown.some(
      (c) => c.version?.lock.kind === 'record' && c.version.lock.holder !== null && c.version.leaderInfo.kind === 'published',
    );
    const exitCode = current ? STATUS_EXIT.current : STATUS_EXIT.noCurrentLeader;
    return {
      exitCode,
      output: json
        ? `${JSON.stringify({ namespace: config.kubernetesNamespace, clusterId, configMaps: shown }, null, 2)}\n`
        : format(where, shown),
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return {
      exitCode: STATUS_EXIT.failed,
      output: json ? `${JSON.stringify({ namespace: config.kubernetesNamespace, clusterId, error: message })}\n` : `error: ${message}\n`,
    };
  }
}

function format(where: string, shown: readonly ConfigMapStatus[]): string {
  const rows = shown.map((c) => {
    const lock = c.version?.lock;
    const info = c.version?.leaderInfo;
    return [
      c.configMap,
      c.layout,
      !c.exists
        ? '(absent)'
        : lock?.kind === 'record'
          ? (lock.holder ?? '(released)')
          : `(${lock?.kind === 'undecodable' ? `undecodable: ${lock.error}` : 'no lock'})`,
      lock?.kind === 'record' ? `${lock.leaseDurationMs} ms` : '-',
      lock?.kind === 'record' ? (lock.renewTime ?? '-') : '-',
      info?.kind === 'published'
        ? info.address
        : info === undefined
          ? '-'
          : `(${info.kind === 'undecodable' ? `undecodable: ${info.error}` : 'none'})`,
      info?.kind === 'published' ? info.sessionId : '-',
    ];
  });
  const lines = [
    `${where} (Kubernetes HA)`,
    '',
    ...table(['CONFIGMAP', 'LAYOUT', 'HOLDER', 'LEASE', 'RENEWED (holder clock)', 'LEADER', 'LEADER SESSION ID'], rows),
    '',
    'One read cannot tell who wrote the leader information; the sidecar learns it by watching (see /debug/state).',
  ];
  return `${lines.join('\n')}\n`;
}
