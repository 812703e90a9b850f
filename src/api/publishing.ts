import type { WechatApi } from './client.js'

// TODO(issue 5): filled in by the API-modules work.
export class DraftApi {
  constructor(protected readonly api: WechatApi) {}
}

// TODO(issue 5): filled in by the API-modules work.
export class PublishApi {
  constructor(protected readonly api: WechatApi) {}
}
