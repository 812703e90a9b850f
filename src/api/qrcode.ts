import type { WechatApi } from './client.js'

// TODO(issue 5): filled in by the API-modules work.
export class QrCodeApi {
  constructor(protected readonly api: WechatApi) {}
}
