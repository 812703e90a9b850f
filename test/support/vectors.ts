import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'

/**
 * Loads ../shared/reference/wechat-vectors.json (the known-answer vectors and XML samples) for the
 * protocol tests, checking its shape so that the tests can read it without casts.
 */

export type JsonObject = Record<string, unknown>

/** One known-answer vector (`vectors[]`). */
export interface Vector {
  id: string
  kind: string
  inputs: Record<string, string>
  expected: JsonObject
  expected_derived?: JsonObject
  negative?: JsonObject
}

/** One XML sample (`xml_samples[]`). */
export interface XmlSample {
  id: string
  kind: string
  xml: string
  expected_text?: Record<string, string>
  expect_wellformed?: boolean
}

export interface VectorFile {
  conventions: Record<string, string>
  vectors: Vector[]
  xml_samples: XmlSample[]
}

/** The reference copy, beside the repository: `../shared/reference/wechat-vectors.json`. */
export const SHARED_VECTORS_URL = new URL('../../../shared/reference/wechat-vectors.json', import.meta.url)
/** The copy committed in the repository, for checkouts without ../shared (CI). */
export const FIXTURE_VECTORS_URL = new URL('../fixtures/wechat-vectors.json', import.meta.url)
/** The file the tests read: the shared reference when present, else the committed fixture. */
export const VECTORS_URL = existsSync(SHARED_VECTORS_URL) ? SHARED_VECTORS_URL : FIXTURE_VECTORS_URL

function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function stringRecord(value: unknown, what: string): Record<string, string> {
  assert.ok(isRecord(value), `${what} is an object`)
  const out: Record<string, string> = {}
  for (const [key, v] of Object.entries(value)) {
    assert.equal(typeof v, 'string', `${what}.${key} is a string`)
    out[key] = String(v)
  }
  return out
}

function toVector(value: unknown, index: number): Vector {
  assert.ok(isRecord(value), `vectors[${index}] is an object`)
  const { id, kind, inputs, expected, expected_derived, negative } = value
  assert.equal(typeof id, 'string', `vectors[${index}].id`)
  assert.equal(typeof kind, 'string', `vectors[${index}].kind`)
  assert.ok(isRecord(expected), `vectors[${index}].expected`)
  const vector: Vector = {
    id: String(id),
    kind: String(kind),
    inputs: stringRecord(inputs, String(id)),
    expected,
  }
  if (expected_derived !== undefined) {
    assert.ok(isRecord(expected_derived), `${String(id)}.expected_derived`)
    vector.expected_derived = expected_derived
  }
  if (negative !== undefined) {
    assert.ok(isRecord(negative), `${String(id)}.negative`)
    vector.negative = negative
  }
  return vector
}

function toSample(value: unknown, index: number): XmlSample {
  assert.ok(isRecord(value), `xml_samples[${index}] is an object`)
  const { id, kind, xml, expected_text, expect_wellformed } = value
  assert.equal(typeof id, 'string')
  assert.equal(typeof kind, 'string')
  assert.equal(typeof xml, 'string')
  const sample: XmlSample = { id: String(id), kind: String(kind), xml: String(xml) }
  if (expected_text !== undefined)
    sample.expected_text = stringRecord(expected_text, `${String(id)}.expected_text`)
  if (expect_wellformed !== undefined) {
    assert.equal(typeof expect_wellformed, 'boolean')
    sample.expect_wellformed = expect_wellformed === true
  }
  return sample
}

let cache: VectorFile | undefined

/** Reads and checks the vector file (once per process). */
export function loadVectorFile(): VectorFile {
  if (cache) return cache
  const data: unknown = JSON.parse(readFileSync(VECTORS_URL, 'utf8'))
  assert.ok(isRecord(data), 'the vector file is an object')
  assert.ok(Array.isArray(data.vectors), 'vectors is an array')
  assert.ok(Array.isArray(data.xml_samples), 'xml_samples is an array')
  cache = {
    conventions: stringRecord(data.conventions, 'conventions'),
    vectors: data.vectors.map(toVector),
    xml_samples: data.xml_samples.map(toSample),
  }
  return cache
}

/** The vectors of some kinds. */
export function vectorsOfKind(...kinds: string[]): Vector[] {
  return loadVectorFile().vectors.filter((v) => kinds.includes(v.kind))
}

/** A required string from an input or expected record. */
export function str(record: JsonObject | undefined, key: string): string {
  const value = record?.[key]
  assert.equal(typeof value, 'string', `${key} is a string`)
  return String(value)
}

/** An optional string. */
export function optStr(record: JsonObject | undefined, key: string): string | undefined {
  const value = record?.[key]
  if (value === undefined) return undefined
  assert.equal(typeof value, 'string', `${key} is a string`)
  return String(value)
}

/** An optional number. */
export function optNum(record: JsonObject | undefined, key: string): number | undefined {
  const value = record?.[key]
  if (value === undefined) return undefined
  assert.equal(typeof value, 'number', `${key} is a number`)
  return Number(value)
}

/** An optional array of strings. */
export function optStrings(record: JsonObject | undefined, key: string): string[] | undefined {
  const value = record?.[key]
  if (value === undefined) return undefined
  assert.ok(Array.isArray(value), `${key} is an array`)
  return value.map((item) => {
    assert.equal(typeof item, 'string', `${key}[] is a string`)
    return String(item)
  })
}
