/** Rows written straight into the store, for tests of what the store itself does with them. */
import type { NewSession } from '../../src/vpc/traffic-mirror/sessions.repo.js';

/** A Created session with the service's defaults; VNI and priority are both `priority`. */
export function sessionRow(id: string, accountId: string, regionId: string, priority: number): NewSession {
  return {
    id,
    account_id: accountId,
    region_id: regionId,
    name: '',
    description: '',
    target_id: 'eni-t',
    target_type: 'NetworkInterface',
    filter_id: 'tmf-x',
    virtual_network_id: priority,
    priority,
    packet_length: 1500,
    enabled: 0,
    status: 'Created',
    business_status: 'Normal',
    resource_group_id: 'rg-x',
    created_at: 1,
  };
}
