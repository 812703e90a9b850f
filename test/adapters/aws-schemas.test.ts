/**
 * The AWS events the conformance suite replays, checked against AWS's own event schemas as
 * published in `@aws-lambda-powertools/parser` (the official Powertools for AWS Lambda): if a
 * recorded-shape fixture drifted from what Lambda really sends, this fails.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  AlbMultiValueHeadersSchema,
  AlbSchema,
  APIGatewayProxyEventSchema,
  APIGatewayProxyEventV2Schema,
  LambdaFunctionUrlSchema,
} from '@aws-lambda-powertools/parser/schemas'
import { createTestKit } from '../../src/testing/index.js'
import { albEvent, lambdaFunctionUrlEvent, lambdaHttpApiEvent, lambdaRestEvent } from './events.js'

const kit = createTestKit({
  token: 'awsschema',
  appId: 'wx0000000000000000',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
})

function check(schema: { safeParse(value: unknown): { success: boolean; error?: unknown } }, event: unknown) {
  const result = schema.safeParse(event)
  assert.ok(result.success, `does not match AWS's schema: ${String(result.error)}`)
}

describe("AWS events match AWS's published schemas", () => {
  const requests = {
    handshake: kit.handshake(),
    plaintext: kit.request(kit.text('hi')),
    safe: kit.request(kit.text('你好'), { mode: 'safe' }),
  }
  for (const [name, request] of Object.entries(requests)) {
    test(`${name}: REST v1, HTTP API v2, function URL, ALB (single and multi-value), plain and base64`, () => {
      for (const base64 of [false, true]) {
        check(APIGatewayProxyEventSchema, lambdaRestEvent(request, { base64 }))
        check(APIGatewayProxyEventV2Schema, lambdaHttpApiEvent(request, { base64 }))
        check(LambdaFunctionUrlSchema, lambdaFunctionUrlEvent(request, { base64 }))
        check(AlbSchema, albEvent(request, { base64 }))
        check(AlbMultiValueHeadersSchema, albEvent(request, { base64, multiValue: true }))
      }
    })
  }
})
