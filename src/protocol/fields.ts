import { cdata, type XmlObject, type XmlValue } from './xml.js'

/**
 * The building blocks of the message table (`messages.ts`): each field names its XML element once
 * and knows how to read itself from a parsed element, how to write itself back, and what type it
 * has, so that the parser, the TypeScript types, the test kit's message builder and the documented
 * list all come from one description.
 */

/** How a value is read from and written to an element's content. */
export interface Codec<T> {
  /** How the docs name this type. */
  readonly type: string
  /** The nested shape, for object codecs (docs only). */
  readonly shape?: Shape
  read(value: XmlValue): T
  /** The element's content (without the surrounding tags). */
  write(value: T): string
  /** The value a required field reads as when WeChat left it out. */
  empty(): T
}

/** One field of a message: where it lives in the XML and how to read and write it. */
export interface Field<T, Optional extends boolean = boolean> {
  /** The element name in WeChat's XML ('' for a field derived from another). */
  readonly xml: string
  readonly optional: Optional
  readonly codec: Codec<T> | undefined
  /** How the docs describe the field (e.g. `string`, `number`, `ScanCodeInfo/item[]`). */
  readonly type: string
  /** A note for the docs (e.g. what the field means). */
  readonly note: string | undefined
  /** The fields of a nested element, or of each item of a list (docs only). */
  readonly shape?: Shape
  /** The item element of a wrapped list (`item` in `<PicList><item>`), docs only. */
  readonly itemXml?: string
  read(parent: XmlObject): T | undefined
  write(value: T): string
}

/** A named set of fields: a message type, an event type, or a nested element. */
export type Shape = { readonly [property: string]: Field<unknown, boolean> }

type ValueOf<F> = F extends Field<infer T, boolean> ? T : never
type RequiredKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends Field<unknown, false> ? K : never
}[keyof S]
type OptionalKeys<S extends Shape> = Exclude<keyof S, RequiredKeys<S>>

/** Flattens an intersection for readable hover types. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** The TypeScript type of the object a shape reads to. */
export type ShapeValue<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: ValueOf<S[K]> } & { [K in OptionalKeys<S>]?: ValueOf<S[K]> }
>

/** The text of an element ('' for an element with children). */
export function textOf(value: XmlValue | undefined): string {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return textOf(value[0])
  return ''
}

const stringCodec: Codec<string> = {
  type: 'string',
  read: textOf,
  write: cdata,
  empty: () => '',
}

const numberCodec: Codec<number> = {
  type: 'number',
  read: (value) => {
    const text = textOf(value).trim()
    return text === '' ? 0 : Number(text)
  },
  write: (value) => String(value),
  empty: () => 0,
}

// 64-bit ids (MsgId, MsgID, publish_id…) exceed 2^53: they stay strings, written without CDATA as WeChat does.
const idCodec: Codec<string> = {
  type: 'string (64-bit id)',
  read: (value) => textOf(value).trim(),
  write: (value) => value,
  empty: () => '',
}

function shapeCodec<S extends Shape>(shape: S): Codec<ShapeValue<S>> {
  const entries = Object.entries(shape)
  return {
    type: 'object',
    shape,
    read: (value) => readShape(entries, typeof value === 'object' && !Array.isArray(value) ? value : EMPTY),
    write: (value) => writeShape(entries, value as Record<string, unknown>),
    empty: () => readShape(entries, EMPTY),
  }
}

const EMPTY: XmlObject = Object.freeze(Object.create(null)) as XmlObject

/** Reads every field of a shape from an element into `target` (a new object when omitted). */
export function readShape<T>(
  entries: ReadonlyArray<readonly [string, Field<unknown, boolean>]>,
  element: XmlObject,
  target: Record<string, unknown> = {},
): T {
  for (const [property, field] of entries) {
    const value = field.read(element)
    if (value !== undefined) target[property] = value
  }
  return target as T
}

/** Writes every present field of a shape, in table order. */
export function writeShape(
  entries: ReadonlyArray<readonly [string, Field<unknown, boolean>]>,
  value: Record<string, unknown>,
): string {
  let out = ''
  for (const [property, field] of entries) {
    const v = value[property]
    if (v !== undefined) out += field.write(v)
  }
  return out
}

function element<T, O extends boolean>(
  xml: string,
  codec: Codec<T>,
  optional: O,
  note?: string,
): Field<T, O> {
  return {
    xml,
    optional,
    codec,
    type: codec.type,
    note,
    ...(codec.shape ? { shape: codec.shape } : {}),
    read(parent) {
      const value = parent[xml]
      if (value === undefined) return optional ? undefined : codec.empty()
      return codec.read(Array.isArray(value) ? value[0]! : value)
    },
    write: (value) => `<${xml}>${codec.write(value)}</${xml}>`,
  }
}

type Of<T> = Codec<T> | Shape
type ItemOf<C> = C extends Codec<infer T> ? T : C extends Shape ? ShapeValue<C> : never

function codecOf<C extends Of<unknown>>(of: C): Codec<ItemOf<C>> {
  return (typeof (of as Codec<unknown>).read === 'function' ? of : shapeCodec(of as Shape)) as Codec<
    ItemOf<C>
  >
}

function asList(value: XmlValue | undefined): XmlValue[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

/** A string element that WeChat always sends. */
export const str = (xml: string, note?: string) => element(xml, stringCodec, false, note)
/** A string element that may be absent. */
export const optStr = (xml: string, note?: string) => element(xml, stringCodec, true, note)
/** A numeric element (plain or in CDATA) that WeChat always sends. */
export const num = (xml: string, note?: string) => element(xml, numberCodec, false, note)
/** A numeric element that may be absent. */
export const optNum = (xml: string, note?: string) => element(xml, numberCodec, true, note)
/** A 64-bit id, kept as a string. */
export const id = (xml: string, note?: string) => element(xml, idCodec, false, note)
/** A 64-bit id that may be absent. */
export const optId = (xml: string, note?: string) => element(xml, idCodec, true, note)
/** A nested element with its own fields. */
export const obj = <S extends Shape>(xml: string, shape: S, note?: string) =>
  element(xml, shapeCodec(shape), false, note)
/** A nested element that may be absent. */
export const optObj = <S extends Shape>(xml: string, shape: S, note?: string) =>
  element(xml, shapeCodec(shape), true, note)

/** Scalar codecs, for lists of scalars. */
export const codecs = { string: stringCodec, number: numberCodec, id: idCodec } as const

/**
 * A wrapper element holding repeated items, e.g. `<PicList><item>…</item><item>…</item></PicList>`.
 * Always an array, even for one item or none.
 */
export function list<C extends Of<unknown>>(
  xml: string,
  item: string,
  of: C,
  note?: string,
): Field<ItemOf<C>[], false> {
  const codec = codecOf(of)
  return {
    xml,
    optional: false,
    codec: undefined,
    type: `${codec.type}[]`,
    note,
    itemXml: item,
    ...(codec.shape ? { shape: codec.shape } : {}),
    read(parent) {
      const wrapper = parent[xml]
      if (wrapper === undefined || typeof wrapper === 'string') return []
      const items = Array.isArray(wrapper)
        ? wrapper.flatMap((w) => (typeof w === 'object' && !Array.isArray(w) ? asList(w[item]) : []))
        : asList(wrapper[item])
      return items.map((v) => codec.read(v))
    },
    write: (values) =>
      `<${xml}>${values.map((v) => `<${item}>${codec.write(v)}</${item}>`).join('')}</${xml}>`,
  }
}

/** An element that repeats directly inside its parent, e.g. `<fail_idx>1</fail_idx><fail_idx>2</fail_idx>`. Always an array. */
export function repeated<C extends Of<unknown>>(
  xml: string,
  of: C,
  note?: string,
): Field<ItemOf<C>[], false> {
  const codec = codecOf(of)
  return {
    xml,
    optional: false,
    codec: undefined,
    type: `${codec.type}[]`,
    note,
    ...(codec.shape ? { shape: codec.shape } : {}),
    read: (parent) => asList(parent[xml]).map((v) => codec.read(v)),
    write: (values) => values.map((v) => `<${xml}>${codec.write(v)}</${xml}>`).join(''),
  }
}

/** A value computed from other elements (written back by those elements, so never written itself). */
export function derived<T>(
  from: string,
  type: string,
  read: (parent: XmlObject) => T | undefined,
  note?: string,
): Field<T, true> {
  return {
    xml: '',
    optional: true,
    codec: undefined,
    type,
    note: note ?? `derived from ${from}`,
    read,
    write: () => '',
  }
}
