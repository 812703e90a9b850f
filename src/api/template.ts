import type { WechatApi } from './client.js'

// TODO(issue 5): filled in by the API-modules work.
export class TemplateApi {
  constructor(protected readonly api: WechatApi) {}
}

// TODO(issue 5): filled in by the API-modules work.
export class SubscribeMessageApi {
  constructor(protected readonly api: WechatApi) {}
}
