import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { WempError } from './errors.js'
import { cdata, escapeXml, parseXml, type XmlObject, type XmlValue } from './xml.js'

/** A parsed value with ordinary prototypes, for deepEqual against literals. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) {
    // defineProperty, so that a '__proto__' key stays an own property.
    Object.defineProperty(out, key, {
      value: plain(child),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

function parse(source: string): unknown {
  return plain(parseXml(source))
}

/** Asserts that parsing fails with invalid_xml (-40002), and returns the message. */
function rejects(source: string, reason?: RegExp): string {
  let caught: unknown
  try {
    parseXml(source)
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof WempError, `expected invalid_xml for ${JSON.stringify(source.slice(0, 80))}`)
  assert.equal(caught.code, 'invalid_xml')
  assert.equal(caught.errcode, -40002)
  if (reason) assert.match(caught.message, reason)
  return caught.message
}

function nested(depth: number): string {
  let open = ''
  let close = ''
  for (let i = 0; i < depth; i++) {
    open += `<e${i}>`
    close = `</e${i}>${close}`
  }
  return `${open}v${close}`
}

describe('parseXml: what WeChat sends', () => {
  test('reads text, CDATA and numbers into the children of the root', () => {
    assert.deepEqual(
      parse(
        '<xml><ToUserName><![CDATA[gh_x]]></ToUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType></xml>',
      ),
      { ToUserName: 'gh_x', CreateTime: '1348831860', MsgType: 'text' },
    )
  })

  test('returns objects that inherit nothing (an empty, frozen prototype without a prototype)', () => {
    const root = parseXml('<xml><A><B>1</B></A></xml>')
    const proto: unknown = Object.getPrototypeOf(root)
    assert.equal(Object.getPrototypeOf(root.A), proto)
    assert.ok(proto !== null && typeof proto === 'object')
    assert.equal(Object.getPrototypeOf(proto), null)
    assert.deepEqual(Reflect.ownKeys(proto), [])
    assert.ok(Object.isFrozen(proto))
    for (const name of ['toString', 'hasOwnProperty', 'constructor', '__proto__', 'valueOf'])
      assert.equal(name in root, false, name)
  })

  test('keeps whitespace in text and CDATA, drops it between elements', () => {
    assert.deepEqual(
      parse('<xml>\n  <A> a b </A>\n  <B><![CDATA[\n x \n]]></B>\n  <C>\n    <D>1</D>\n  </C>\n</xml>'),
      {
        A: ' a b ',
        B: '\n x \n',
        C: { D: '1' },
      },
    )
  })

  test('joins text and CDATA sections (a split ]]>)', () => {
    assert.deepEqual(parse('<xml><C><![CDATA[a]]]]><![CDATA[>b]]></C><D>x<![CDATA[<y>]]>z</D></xml>'), {
      C: 'a]]>b',
      D: 'x<y>z',
    })
  })

  test('turns repeated elements into arrays, in document order', () => {
    assert.deepEqual(parse('<xml><item>1</item><other/><item>2</item><item><x>3</x></item></xml>'), {
      item: ['1', '2', { x: '3' }],
      other: '',
    })
  })

  test('reads empty and self-closing elements as empty strings', () => {
    assert.deepEqual(parse('<xml><A></A><B/><C /><D><![CDATA[]]></D></xml>'), { A: '', B: '', C: '', D: '' })
    assert.deepEqual(parse('<xml/>'), {})
    assert.deepEqual(parse('<xml>only text</xml>'), {})
  })

  test('skips a BOM, the XML declaration, comments, processing instructions and attributes', () => {
    assert.deepEqual(
      parse(
        '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><?pi x?>\n<xml a="1" b=\'>\'><!-- <A>no</A> --><A x="a>b" y=\'"\'>v</A><?p?><B>w</B ></xml>\n<!-- after -->\n',
      ),
      { A: 'v', B: 'w' },
    )
  })

  test('decodes the five named entities', () => {
    assert.deepEqual(parse('<xml><A>&lt;&gt;&amp;&quot;&apos;</A></xml>'), { A: `<>&"'` })
    // Decoded once only.
    assert.deepEqual(parse('<xml><A>&amp;lt;&amp;amp;</A></xml>'), { A: '&lt;&amp;' })
    // Not inside CDATA.
    assert.deepEqual(parse('<xml><A><![CDATA[&lt;&amp;]]></A></xml>'), { A: '&lt;&amp;' })
  })

  test('decodes numeric character references, decimal and hex, including astral ones', () => {
    assert.deepEqual(parse('<xml><A>&#x4e2d;&#20013;&#x4E2D;</A></xml>'), { A: '中中中' })
    assert.deepEqual(parse('<xml><A>&#x1F600;&#128512;&#65;&#x41;</A></xml>'), { A: '😀😀AA' })
  })

  test('keeps the C0 control characters WeChat forwards from users', () => {
    assert.deepEqual(parse('<xml><A><![CDATA[a\u001d\u0001b]]></A><B>c\u0008d</B></xml>'), {
      A: 'a\u001d\u0001b',
      B: 'c\u0008d',
    })
  })

  test('parses a 1 MB CDATA value', () => {
    const big = '中文abc]]>'.repeat(150_000).slice(0, 1 << 20)
    assert.equal(big.length, 1 << 20)
    const start = performance.now()
    const root = parseXml(`<xml><Content>${cdata(big)}</Content><MsgId>1</MsgId></xml>`)
    assert.equal(root.Content, big)
    assert.equal(root.MsgId, '1')
    assert.ok(performance.now() - start < 2000, 'in well under two seconds')
  })

  test('parses a 1 MB entity-escaped text value', () => {
    const big = '<&>'.repeat(350_000)
    const root = parseXml(`<xml><A>${escapeXml(big)}</A></xml>`)
    assert.equal(root.A, big)
  })
})

describe('parseXml: hostile input', () => {
  test('rejects the billion laughs (DOCTYPE with internal entities)', () => {
    const lol = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [',
      ' <!ENTITY lol "lol">',
      ...Array.from(
        { length: 9 },
        (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
      ),
      ']>',
      '<lolz>&lol9;</lolz>',
    ].join('\n')
    const start = performance.now()
    rejects(lol, /DTD/)
    assert.ok(performance.now() - start < 100, 'at once')
  })

  test('rejects an external entity (XXE), never reading the file', () => {
    const message = rejects(
      '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>',
      /DTD/,
    )
    assert.doesNotMatch(message, /root:/)
    rejects('<!DOCTYPE xml SYSTEM "http://example.com/x.dtd"><xml><A>1</A></xml>')
    rejects('<!DOCTYPE xml PUBLIC "-//X//DTD X//EN" "http://example.com/x.dtd"><xml/>')
  })

  test('rejects a bare DOCTYPE', () => {
    rejects('<!DOCTYPE xml><xml><A>1</A></xml>', /DTD/)
  })

  test('rejects <!ENTITY and <!DOCTYPE anywhere: before, inside and after the root', () => {
    rejects('<!ENTITY x "y"><xml/>', /DTD/)
    rejects('<xml><!ENTITY x "y"><A>1</A></xml>', /DTD/)
    rejects('<xml><A><!ENTITY x "y">1</A></xml>', /DTD/)
    rejects('<xml><A>1</A><!DOCTYPE x></xml>', /DTD/)
    rejects('<xml/><!ENTITY x "y">', /DTD/)
    rejects('<xml><A>1</A></xml><!DOCTYPE x>', /DTD/)
    rejects('<xml><![IGNORE[ x ]]></xml>', /DTD/)
  })

  test('treats <!ENTITY inside CDATA as text', () => {
    assert.deepEqual(parse('<xml><A><![CDATA[<!ENTITY x "y">&x;]]></A></xml>'), { A: '<!ENTITY x "y">&x;' })
  })

  test('rejects unknown and malformed entity references', () => {
    for (const text of [
      '&xxe;',
      '&nbsp;',
      '&copy;',
      '&LT;',
      '&constructor;',
      '&__proto__;',
      '&toString;',
      '&valueOf;',
      'a & b',
      'a &amp b',
      '&;',
      '&#;',
      '&#x;',
      '&#xZZ;',
      '&#12a;',
      '&#-1;',
      '&#x110000;',
      '&#1114112;',
      '&#X41;',
      '&verylongentityname;',
    ]) {
      rejects(`<xml><A>${text}</A></xml>`, /entity|character reference/)
    }
  })

  test('rejects unclosed and mismatched tags', () => {
    for (const source of [
      '<xml>',
      '<xml><A>1</A>',
      '<xml><A>1</xml>',
      '<xml><A>1</B></xml>',
      '<xml><A>1</AB></xml>',
      '<xml><AB>1</A></xml>',
      '<xml><A>1</A',
      '<xml><A',
      '<xml><A x="1>',
      '<xml><A <B>1</B></A></xml>',
      '<xml><![CDATA[x</xml>',
      '<xml><!-- x </xml>',
      '<xml><?pi </xml>',
      '<xml></ xml>',
      '<>',
      '< xml/>',
      '</xml>',
    ]) {
      rejects(source)
    }
  })

  test('rejects text or elements after the root', () => {
    rejects('<xml></xml>junk', /after the root/)
    rejects('<xml></xml><xml></xml>', /after the root/)
    rejects('<xml/>\n<A/>', /after the root/)
  })

  test('rejects empty input and garbage', () => {
    for (const source of [
      '',
      '   \n ',
      '\ufeff',
      'hello',
      '{"ToUserName":"gh"}',
      'success',
      '<?xml version="1.0"?>',
      '<!-- only -->',
      '<?xml',
      '<!--',
    ]) {
      rejects(source)
    }
  })

  test('accepts 32 levels of nesting (the root counts) and rejects 33 or more', () => {
    const root = parseXml(nested(32))
    let value: XmlValue | undefined = root
    for (let i = 1; i < 32; i++) {
      assert.ok(value !== undefined && typeof value === 'object' && !Array.isArray(value))
      value = (value as XmlObject)[`e${i}`]
    }
    assert.equal(value, 'v')
    rejects(nested(33), /nesting deeper than 32/)
    rejects(nested(34), /nesting/)
    // Deep enough to overflow the stack without the limit.
    const start = performance.now()
    rejects(`${'<a>'.repeat(100_000)}x${'</a>'.repeat(100_000)}`, /nesting/)
    assert.ok(performance.now() - start < 1000)
  })

  test('reads <__proto__>, <constructor> and <prototype> as plain keys, without prototype pollution', () => {
    const root = parseXml(
      '<xml><__proto__><polluted>yes</polluted></__proto__><constructor><prototype><polluted>yes</polluted></prototype></constructor><toString>t</toString><hasOwnProperty>h</hasOwnProperty></xml>',
    )
    assert.deepEqual(Object.keys(root), ['__proto__', 'constructor', 'toString', 'hasOwnProperty'])
    assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(root)), null)
    const proto: unknown = Object.getOwnPropertyDescriptor(root, '__proto__')?.value
    assert.deepEqual(plain(proto), { polluted: 'yes' })
    assert.deepEqual(plain(root.constructor), { prototype: { polluted: 'yes' } })
    assert.equal(root.toString, 't')
    assert.equal(root.hasOwnProperty, 'h')
    const probe: Record<string, unknown> = {}
    assert.equal(probe.polluted, undefined)
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
    assert.equal(typeof Object.prototype.toString, 'function')
  })

  test('repeated <__proto__> elements become an array, still without pollution', () => {
    const root = parseXml('<xml><__proto__>1</__proto__><__proto__>2</__proto__></xml>')
    assert.deepEqual(Object.getOwnPropertyDescriptor(root, '__proto__')?.value, ['1', '2'])
    assert.equal(({} as Record<string, unknown>)['1'], undefined)
  })

  test('fuzz: 5000 random XML-ish strings throw nothing but invalid_xml, and never hang', {
    timeout: 30_000,
  }, () => {
    // mulberry32: deterministic.
    let seed = 0x5eed1234
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    const fragments = [
      '<xml>',
      '</xml>',
      '<A>',
      '</A>',
      '<B/>',
      '<A x="1">',
      "<A y='>'>",
      '<![CDATA[',
      ']]>',
      '<!--',
      '-->',
      '<?',
      '?>',
      '<!DOCTYPE x>',
      '<!ENTITY e "v">',
      '&lt;',
      '&amp;',
      '&#x4e2d;',
      '&#20013;',
      '&#x110000;',
      '&bogus;',
      '&',
      ';',
      '<',
      '>',
      '/',
      '"',
      "'",
      '=',
      ' ',
      '\n',
      'text',
      '中文',
      '😀',
      '\u0000',
      '\u001d',
      '\ufeff',
      '<__proto__>',
      '</__proto__>',
      '<constructor>',
      '<item>',
      '</item>',
      '<>',
      '</>',
      '< />',
    ]
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
    const names = ['A', 'B', 'item', 'Content', '__proto__', 'constructor', 'x-y', 'a:b']
    const texts = ['', 'text', '中文', '😀', ' ', '\n', '\u001d', ']]>', '&lt;', '&#x4e2d;', '&amp;amp;']
    // A well-formed tree, which the mutations below may break.
    const tree = (depth: number): string => {
      const name = pick(names)
      if (depth > 3 || random() < 0.3)
        return random() < 0.2 ? `<${name}/>` : `<${name}>${pick(texts)}</${name}>`
      if (random() < 0.2) return `<${name}>${cdata(pick(texts) + pick(texts))}</${name}>`
      let children = ''
      const count = Math.floor(random() * 4)
      for (let k = 0; k < count; k++) children += tree(depth + 1)
      return `<${name}>${children}</${name}>`
    }
    let parsed = 0
    let rejected = 0
    const start = performance.now()
    for (let i = 0; i < 5000; i++) {
      let source = ''
      if (i % 2 === 0) {
        // Fragment soup; every fourth string has a root element around it.
        const count = 1 + Math.floor(random() * 24)
        for (let j = 0; j < count; j++) source += pick(fragments)
        if (i % 4 === 0) source = `<xml>${source}</xml>`
      } else {
        // A valid document with 0 to 2 mutations: insert a fragment, delete a span, or truncate.
        source = `<xml>${tree(0)}${tree(1)}</xml>`
        const mutations = Math.floor(random() * 3)
        for (let m = 0; m < mutations; m++) {
          const at = Math.floor(random() * (source.length + 1))
          const what = random()
          if (what < 0.5) source = source.slice(0, at) + pick(fragments) + source.slice(at)
          else if (what < 0.8) source = source.slice(0, at) + source.slice(at + 1 + Math.floor(random() * 5))
          else source = source.slice(0, at)
        }
      }
      try {
        const root = parseXml(source)
        assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(root)), null)
        assert.equal('toString' in root, false)
        parsed++
      } catch (error) {
        if (!(error instanceof WempError)) assert.fail(`${String(error)} for ${JSON.stringify(source)}`)
        assert.equal(error.code, 'invalid_xml', JSON.stringify(source))
        assert.equal(error.errcode, -40002)
        rejected++
      }
    }
    assert.equal(parsed + rejected, 5000)
    assert.ok(parsed > 500, `many inputs parse (${parsed})`)
    assert.ok(rejected > 2500, `many inputs are rejected (${rejected})`)
    assert.ok(performance.now() - start < 10_000, 'quickly')
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
  })
})

describe('cdata and escapeXml', () => {
  test('cdata wraps text, splitting every ]]>', () => {
    assert.equal(cdata('abc'), '<![CDATA[abc]]>')
    assert.equal(cdata(''), '<![CDATA[]]>')
    assert.equal(cdata('a]]>b'), '<![CDATA[a]]]]><![CDATA[>b]]>')
    assert.equal(cdata(']]>]]>'), '<![CDATA[]]]]><![CDATA[>]]]]><![CDATA[>]]>')
  })

  test('cdata output parses back to the same text', () => {
    for (const text of [
      '',
      'a]]>b',
      ']]>',
      ']]]>',
      ']]>]]>',
      '<![CDATA[x]]>',
      ']',
      ']]',
      '>',
      'a]]',
      '中]]>文',
      '&lt;',
    ]) {
      assert.equal(parseXml(`<xml><A>${cdata(text)}</A></xml>`).A, text, JSON.stringify(text))
    }
  })

  test('escapeXml escapes the five characters, and parses back', () => {
    assert.equal(escapeXml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;')
    assert.equal(escapeXml('plain 中文'), 'plain 中文')
    for (const text of ['1 < 2 && a]]>b', `"'<>&`, '&amp;']) {
      assert.equal(parseXml(`<xml><A>${escapeXml(text)}</A></xml>`).A, text)
    }
  })
})
