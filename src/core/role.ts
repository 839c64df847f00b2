import { matchLeader, type LocalIdentity } from './identity.js';
import { escapeText, isPrintableToken } from './printable.js';
import type { SourceReading } from './leader-source.js';
import type { Layout, Verdict } from './model.js';
import type { Reason } from './reasons.js';

export type RoleDecision = Pick<Verdict, 'role' | 'roleReason' | 'roleDetail' | 'layout' | 'currentLeader'>;

function unknown(roleReason: Reason, roleDetail: string | null, layout: Layout | null): RoleDecision {
  return { role: 'unknown', roleReason, roleDetail, layout, currentLeader: null };
}

/**
 * Decides this JM's role from a leader source's reading, whichever the source: leader only when
 * the source names a current leader and its address is this JM's. Anything doubtful is `unknown`
 * with a reason, never `leader`.
 */
export function decideRole(reading: SourceReading, identity: LocalIdentity): RoleDecision {
  const { layout, leader } = reading;
  if (leader.kind === 'none') return unknown(leader.reason, leader.detail, layout);
  const { address, sessionId, holder, target } = leader.claim;
  const currentLeader = { address, sessionId, owner: holder };
  if (!isPrintableToken(address)) {
    return {
      ...unknown(
        'leader-address-unprintable',
        `"${escapeText(address)}" has characters other than printable ASCII without whitespace`,
        layout,
      ),
      currentLeader,
    };
  }
  if (target === null) {
    return { ...unknown('leader-host-unresolvable', `${address} has not been looked up yet`, layout), currentLeader };
  }
  if (target.endpoint === null) {
    return { ...unknown('leader-address-invalid', `${JSON.stringify(address)} is not an http(s) URL`, layout), currentLeader };
  }
  const match = matchLeader(target.endpoint, target.resolvedAddresses, identity, target.resolveError);
  switch (match.kind) {
    case 'ours':
      return { role: 'leader', roleReason: 'is-leader', roleDetail: address, layout, currentLeader };
    case 'theirs':
      return { role: 'standby', roleReason: 'other-jm-leads', roleDetail: address, layout, currentLeader };
    case 'ambiguous':
      return { ...unknown('identity-ambiguous', match.detail, layout), currentLeader };
    case 'unresolved':
      return { ...unknown('leader-host-unresolvable', match.detail, layout), currentLeader };
  }
}
