import type { WechatApi } from './client.js'

// TODO(issue 5): filled in by the API-modules work.
export class MediaApi {
  constructor(protected readonly api: WechatApi) {}
}

// TODO(issue 5): filled in by the API-modules work.
export class MaterialApi {
  constructor(protected readonly api: WechatApi) {}
}
