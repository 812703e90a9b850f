import type { WechatApi } from './client.js'

// TODO(issue 5): filled in by the API-modules work.
export class UserApi {
  constructor(protected readonly api: WechatApi) {}
}

// TODO(issue 5): filled in by the API-modules work.
export class TagApi {
  constructor(protected readonly api: WechatApi) {}
}

// TODO(issue 5): filled in by the API-modules work.
export class BlacklistApi {
  constructor(protected readonly api: WechatApi) {}
}
