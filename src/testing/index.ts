// talki-customer-endpoint/testing: the mock from code (docs/qa.md "From code"). startMock runs one in this
// process on free ports; connectMock drives one that runs elsewhere through its admin API.

export type {
  OverrideSpec,
  ScenarioName,
  SimulationSpec,
  UserSimulationSpec,
} from '../mock/simulation/scenarios.js'
export type { RequestLogEntry } from '../mock/state/request-log.js'
export type { UserRecord } from '../mock/users/record.js'
export { AdminApiError, type AdminClientOptions, AdminUnreachableError } from './admin-client.js'
export {
  type ConnectMockOptions,
  connectMock,
  type MergePatch,
  type MockClient,
  type RequestFilter,
  type ScenarioParams,
} from './connect.js'
export { type StartedMock, type StartMockOptions, startMock } from './start.js'
