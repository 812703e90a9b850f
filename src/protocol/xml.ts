import { CryptErrorCode, WempError } from './errors.js'

/**
 * WeChat's XML, read and written by hand.
 *
 * WeChat sends a small, flat dialect of XML: elements, text and CDATA, no attributes that matter, no
 * namespaces. A general XML library costs more per message and at cold start than the whole rest of
 * the request (see bench/), and most have to be configured not to expand entities. This reader:
 * - never expands DOCTYPE-declared entities: any `<!DOCTYPE`/`<!ENTITY` is rejected outright;
 * - decodes only the five predefined entities and numeric character references;
 * - accepts the C0 control characters WeChat forwards from users (XML 1.0 forbids them; a strict
 *   parser would fail and the follower would see "该公众号暂时无法提供服务");
 * - limits nesting depth, and builds objects that inherit nothing (a `<__proto__>` element is just a key).
 */

/** A parsed element: a text-only element is a string; repeated children become arrays. */
export type XmlValue = string | XmlObject | XmlValue[]

/** An element with child elements, keyed by child name. */
export interface XmlObject {
  [name: string]: XmlValue
}

const MAX_DEPTH = 32

function invalid(reason: string, at: number): WempError {
  return new WempError('invalid_xml', `malformed XML: ${reason} at offset ${at} (errcode -40002)`, {
    errcode: CryptErrorCode.ParseXml,
  })
}

/**
 * The objects parseXml returns: their prototype is an empty, frozen object without a prototype,
 * so nothing is inherited (no `toString`, no `__proto__` accessor: a `<__proto__>` element is an
 * own key like any other), and V8 keeps them in fast mode, unlike `Object.create(null)` objects,
 * which start as dictionaries (building one with a text message's six keys: 0.10 µs against 0.37).
 */
const XmlNode = function XmlNode() {} as unknown as new () => XmlObject
XmlNode.prototype = Object.freeze(Object.create(null))

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09
}

/**
 * Parses a WeChat XML document and returns the children of its root element (usually `<xml>`).
 * @throws WempError `invalid_xml` (-40002) for malformed input or any DTD
 *
 * @example
 * parseXml('<xml><MsgType><![CDATA[text]]></MsgType></xml>') // { MsgType: 'text' }
 */
export function parseXml(source: string): XmlObject {
  const parser = new Reader(source)
  parser.skipProlog()
  if (parser.pos >= source.length || source.charCodeAt(parser.pos) !== 0x3c)
    throw invalid('no root element', parser.pos)
  const root = parser.element(0)
  parser.skipMisc()
  if (parser.pos < source.length) throw invalid('content after the root element', parser.pos)
  if (typeof root === 'string') return new XmlNode()
  return root
}

class Reader {
  pos = 0
  /** The name of the element element() last read (its caller keys the value by it). */
  lastName = ''
  /** The next `&` at or after some earlier position (src.length when there is none): found once, not per text run. */
  #amp = -1
  constructor(readonly src: string) {}

  #text(start: number, end: number): string {
    if (this.#amp < start) {
      const next = this.src.indexOf('&', start)
      this.#amp = next < 0 ? this.src.length : next
    }
    return this.#amp >= end ? this.src.slice(start, end) : decodeText(this.src, start, end)
  }

  /** Skips a BOM, the XML declaration, comments, processing instructions and white space. */
  skipProlog(): void {
    if (this.src.charCodeAt(0) === 0xfeff) this.pos = 1
    this.skipMisc()
  }

  skipMisc(): void {
    const src = this.src
    for (;;) {
      while (this.pos < src.length && isSpace(src.charCodeAt(this.pos))) this.pos++
      if (src.startsWith('<?', this.pos)) {
        const end = src.indexOf('?>', this.pos + 2)
        if (end < 0) throw invalid('unterminated processing instruction', this.pos)
        this.pos = end + 2
      } else if (src.startsWith('<!--', this.pos)) {
        const end = src.indexOf('-->', this.pos + 4)
        if (end < 0) throw invalid('unterminated comment', this.pos)
        this.pos = end + 3
      } else if (src.startsWith('<!', this.pos)) {
        throw invalid('DTDs and entity declarations are not accepted', this.pos)
      } else {
        return
      }
    }
  }

  /** Reads one element starting at `<`; returns its text or its children. */
  element(depth: number): string | XmlObject {
    if (depth >= MAX_DEPTH) throw invalid(`nesting deeper than ${MAX_DEPTH}`, this.pos)
    const src = this.src
    const nameStart = this.pos + 1
    let i = nameStart
    let code = src.charCodeAt(i)
    while (i < src.length && !isSpace(code) && code !== 0x3e && code !== 0x2f) code = src.charCodeAt(++i)
    if (i === nameStart || i >= src.length) throw invalid('bad start tag', this.pos)
    const name = src.slice(nameStart, i)
    this.lastName = name
    // Skip attributes (WeChat sends none that matter), honouring quotes.
    let selfClosing = false
    for (;;) {
      if (i >= src.length) throw invalid(`unterminated start tag <${name}>`, nameStart)
      code = src.charCodeAt(i)
      if (code === 0x3e) {
        i++
        break
      }
      if (code === 0x2f && src.charCodeAt(i + 1) === 0x3e) {
        selfClosing = true
        i += 2
        break
      }
      if (code === 0x22 || code === 0x27) {
        const close = src.indexOf(code === 0x22 ? '"' : "'", i + 1)
        if (close < 0) throw invalid('unterminated attribute value', i)
        i = close + 1
      } else if (code === 0x3c) {
        throw invalid(`unexpected < in start tag <${name}>`, i)
      } else {
        i++
      }
    }
    this.pos = i
    if (selfClosing) return ''

    let text = ''
    let children: XmlObject | undefined
    for (;;) {
      const lt = src.indexOf('<', this.pos)
      if (lt < 0) throw invalid(`unclosed element <${name}>`, nameStart)
      // Text beside child elements (indentation) is dropped, so it is not even decoded.
      if (lt > this.pos && children === undefined) text += this.#text(this.pos, lt)
      const next = src.charCodeAt(lt + 1)
      if (next === 0x2f) {
        // </name>
        const end = lt + 2 + name.length
        if (!src.startsWith(name, lt + 2)) throw invalid(`mismatched end tag, expected </${name}>`, lt)
        let j = end
        while (j < src.length && isSpace(src.charCodeAt(j))) j++
        if (src.charCodeAt(j) !== 0x3e) throw invalid(`mismatched end tag, expected </${name}>`, lt)
        this.pos = j + 1
        this.lastName = name
        return children ?? text
      }
      if (next === 0x21) {
        if (src.startsWith('<![CDATA[', lt)) {
          const end = src.indexOf(']]>', lt + 9)
          if (end < 0) throw invalid('unterminated CDATA section', lt)
          text += src.slice(lt + 9, end)
          this.pos = end + 3
        } else if (src.startsWith('<!--', lt)) {
          const end = src.indexOf('-->', lt + 4)
          if (end < 0) throw invalid('unterminated comment', lt)
          this.pos = end + 3
        } else {
          throw invalid('DTDs and entity declarations are not accepted', lt)
        }
        continue
      }
      if (next === 0x3f) {
        const end = src.indexOf('?>', lt + 2)
        if (end < 0) throw invalid('unterminated processing instruction', lt)
        this.pos = end + 2
        continue
      }
      this.pos = lt
      const value = this.element(depth + 1)
      const childName = this.lastName
      if (children === undefined) children = new XmlNode()
      const existing = children[childName]
      if (existing === undefined) children[childName] = value
      // element() returns strings and objects only, so an array here is one this loop made.
      else if (Array.isArray(existing)) existing.push(value)
      else children[childName] = [existing, value]
    }
  }
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

function decodeText(src: string, start: number, end: number): string {
  const amp = src.indexOf('&', start)
  if (amp < 0 || amp >= end) return src.slice(start, end)
  let out = src.slice(start, amp)
  let i = amp
  while (i < end) {
    const ch = src.charCodeAt(i)
    if (ch !== 0x26) {
      const nextAmp = src.indexOf('&', i)
      const stop = nextAmp < 0 || nextAmp > end ? end : nextAmp
      out += src.slice(i, stop)
      i = stop
      continue
    }
    const semi = src.indexOf(';', i)
    if (semi < 0 || semi > end || semi - i > 12) throw invalid('bad entity reference', i)
    const ref = src.slice(i + 1, semi)
    if (ref.charCodeAt(0) === 0x23) {
      const point =
        ref.charCodeAt(1) === 0x78 ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10)
      if (
        !Number.isInteger(point) ||
        point < 0 ||
        point > 0x10ffff ||
        !/^#(x[0-9a-fA-F]+|[0-9]+)$/.test(ref)
      ) {
        throw invalid(`bad character reference &${ref};`, i)
      }
      out += String.fromCodePoint(point)
    } else {
      // Own properties only: `&constructor;` or `&__proto__;` must not resolve through Object.prototype.
      const named = Object.hasOwn(NAMED_ENTITIES, ref) ? NAMED_ENTITIES[ref] : undefined
      if (named === undefined) throw invalid(`unknown entity &${ref};`, i)
      out += named
    }
    i = semi + 1
  }
  return out
}

/**
 * Wraps text in CDATA, splitting any `]]>` across two sections so that no content can end the
 * section early (`a]]>b` → `<![CDATA[a]]]]><![CDATA[>b]]>`).
 */
export function cdata(text: string): string {
  if (text.includes(']]>')) text = text.replaceAll(']]>', ']]]]><![CDATA[>')
  return `<![CDATA[${text}]]>`
}

/** Escapes text for use outside CDATA. */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => `&${c === '<' ? 'lt' : c === '>' ? 'gt' : c === '&' ? 'amp' : c === '"' ? 'quot' : 'apos'};`,
  )
}
