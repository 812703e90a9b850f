import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import {
  FIXTURE_VECTORS_URL,
  loadVectorFile,
  optStr,
  optStrings,
  SHARED_VECTORS_URL,
  str,
  VECTORS_URL,
  vectorsOfKind,
} from '../../test/support/vectors.js'
import { computeSignature, signaturesEqual, verifyMsgSignature, verifySignature } from './signature.js'

const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex')

describe('the vector file', () => {
  test('is ../shared/reference/wechat-vectors.json (or its committed copy), with 25 vectors and 55 XML samples', () => {
    assert.ok(
      VECTORS_URL === SHARED_VECTORS_URL || !existsSync(SHARED_VECTORS_URL),
      'the shared reference is used when present',
    )
    assert.ok(VECTORS_URL.pathname.endsWith('/wechat-vectors.json'))
    const file = loadVectorFile()
    assert.equal(file.vectors.length, 25)
    assert.equal(file.xml_samples.length, 55)
    assert.equal(new Set(file.vectors.map((v) => v.id)).size, 25, 'vector ids are unique')
    assert.equal(new Set(file.xml_samples.map((s) => s.id)).size, 55, 'sample ids are unique')
  })

  test('the committed fixture is identical to the shared reference', (t) => {
    if (!existsSync(SHARED_VECTORS_URL)) {
      t.skip('../shared/reference is not beside this checkout')
      return
    }
    assert.equal(readFileSync(FIXTURE_VECTORS_URL, 'utf8'), readFileSync(SHARED_VECTORS_URL, 'utf8'))
  })

  test('every vector kind is one the protocol tests handle', () => {
    const counts: Record<string, number> = {}
    for (const v of loadVectorFile().vectors) counts[v.kind] = (counts[v.kind] ?? 0) + 1
    // signature.test.ts: plain_signature, msg_signature, jssdk_signature;
    // crypto.test.ts: aes_encrypt, aes_decrypt, encrypted_reply_xml.
    assert.deepEqual(counts, {
      aes_encrypt: 5,
      aes_decrypt: 11,
      plain_signature: 5,
      msg_signature: 2,
      encrypted_reply_xml: 1,
      jssdk_signature: 1,
    })
  })

  test('the signature convention is the one computeSignature implements', () => {
    const convention = loadVectorFile().conventions.signature
    assert.match(convention ?? '', /sha1/)
    assert.match(convention ?? '', /code-unit order/)
  })
})

describe('plain_signature vectors', () => {
  const vectors = vectorsOfKind('plain_signature')
  test('there are 5', () => assert.equal(vectors.length, 5))

  for (const v of vectors) {
    test(v.id, () => {
      const token = str(v.inputs, 'token')
      const timestamp = str(v.inputs, 'timestamp')
      const nonce = str(v.inputs, 'nonce')
      const expected = str(v.expected, 'signature')
      assert.equal(computeSignature([token, timestamp, nonce]), expected)
      // The order of the parts does not matter: they are sorted.
      assert.equal(computeSignature([nonce, token, timestamp]), expected)
      assert.equal(computeSignature([timestamp, nonce, token]), expected)
      const sorted = optStrings(v.expected, 'sorted')
      if (sorted) assert.deepEqual([token, timestamp, nonce].sort(), sorted)
      const concatenated = optStr(v.expected, 'concatenated')
      if (concatenated) {
        assert.equal(sorted?.join(''), concatenated)
        assert.equal(sha1(concatenated), expected)
      }
      assert.equal(verifySignature(token, timestamp, nonce, expected), true)
      assert.equal(
        verifySignature(token, timestamp, nonce, expected.toUpperCase()),
        true,
        'hex case is ignored',
      )
      // Any change to an input is rejected.
      assert.equal(verifySignature(`${token}x`, timestamp, nonce, expected), false)
      assert.equal(verifySignature(token, `${timestamp}1`, nonce, expected), false)
      assert.equal(verifySignature(token, timestamp, `${nonce}1`, expected), false)
      // The vector's own negative case.
      const negative = optStr(v.negative, 'signature')
      if (negative !== undefined) {
        assert.equal(v.negative?.must_not_match, true)
        assert.equal(verifySignature(token, timestamp, nonce, negative), false)
      }
      // The handshake vector's raw query carries the same signature.
      const rawQuery = optStr(v.inputs, 'raw_query')
      if (rawQuery !== undefined) {
        const query = new URLSearchParams(rawQuery)
        assert.equal(query.get('signature'), expected)
        assert.equal(query.get('timestamp'), timestamp)
        assert.equal(query.get('nonce'), nonce)
      }
    })
  }

  test('wechatpy-check-signature: a signature one hex digit off is rejected', () => {
    const v = vectors.find((x) => x.id === 'wechatpy-check-signature')
    assert.ok(v)
    assert.equal(
      verifySignature('test', '1410685589', 'test', 'f21891de399b4e33a1a93c9a7b8a8fffb5a443fe'),
      false,
    )
    assert.equal(
      verifySignature('test', '1410685589', 'test', 'f21891de399b4e33a1a93c9a7b8a8fffb5a443ff'),
      true,
    )
  })
})

describe('msg_signature vectors', () => {
  const vectors = vectorsOfKind('msg_signature')
  test('there are 2', () => assert.equal(vectors.length, 2))

  for (const v of vectors) {
    test(v.id, () => {
      const token = str(v.inputs, 'token')
      const timestamp = str(v.inputs, 'timestamp')
      const nonce = str(v.inputs, 'nonce')
      const encrypt = str(v.inputs, 'encrypt')
      const expected = str(v.expected, 'msg_signature')
      assert.equal(computeSignature([token, timestamp, nonce, encrypt]), expected)
      assert.equal(computeSignature([encrypt, nonce, timestamp, token]), expected)
      const sorted = optStrings(v.expected, 'sorted')
      if (sorted) {
        assert.deepEqual([token, timestamp, nonce, encrypt].sort(), sorted)
        assert.equal(sha1(sorted.join('')), expected)
      }
      assert.equal(verifyMsgSignature(token, timestamp, nonce, encrypt, expected), true)
      assert.equal(verifyMsgSignature(token, timestamp, `${nonce}0`, encrypt, expected), false)
      assert.equal(verifyMsgSignature(token, timestamp, nonce, `${encrypt}A`, expected), false)
      assert.equal(verifyMsgSignature(`${token}0`, timestamp, nonce, encrypt, expected), false)
      // The plain signature over the same three values is a different thing.
      assert.notEqual(computeSignature([token, timestamp, nonce]), expected)
    })
  }
})

describe('jssdk_signature vectors', () => {
  const vectors = vectorsOfKind('jssdk_signature')
  test('there is 1', () => assert.equal(vectors.length, 1))

  for (const v of vectors) {
    test(v.id, () => {
      // 附录1: the keys sorted in ASCII order, joined as k=v with '&', raw values, then SHA-1.
      const string1 = Object.keys(v.inputs)
        .sort()
        .map((key) => `${key}=${v.inputs[key]}`)
        .join('&')
      assert.equal(string1, str(v.expected, 'string1'))
      assert.equal(sha1(string1), str(v.expected, 'signature'))
      // It is not WeChat's push signature (no key names, no '&').
      assert.notEqual(computeSignature(Object.values(v.inputs)), str(v.expected, 'signature'))
    })
  }
})

describe('computeSignature', () => {
  test('sorts in UTF-16 code-unit order, never by locale', () => {
    // Code units: 'B' (0x42) < '_' (0x5f) < 'a' (0x61); a locale sort puts '_' first and 'a' before 'B'.
    const parts = ['a', '_', 'B']
    assert.equal(computeSignature(parts), sha1('B_a'))
    assert.notEqual(computeSignature(parts), sha1([...parts].sort((x, y) => x.localeCompare(y)).join('')))
    // '+' (0x2b) sorts before digits, as in the official safe-mode example.
    assert.equal(computeSignature(['1', '+x', 'A', '0']), sha1('+x01A'))
  })

  test('gives the same result for every order of three parts', () => {
    const [a, b, c] = ['token', '1714036504', 'zzz']
    const expected = sha1('1714036504tokenzzz')
    for (const parts of [
      [a, b, c],
      [a, c, b],
      [b, a, c],
      [b, c, a],
      [c, a, b],
      [c, b, a],
    ]) {
      assert.equal(computeSignature(parts), expected, parts.join(','))
    }
  })

  test('hashes non-ASCII parts as UTF-8, sorted by code unit (surrogates before U+E000..U+FFFF)', () => {
    // By code unit: '中' (0x4e2d) < '😀' (0xd83d 0xde00) < '！' (0xff01); by code point '😀' would sort last.
    const parts = ['！', '😀', '中']
    assert.equal(computeSignature(parts), sha1('中😀！'))
    assert.equal(computeSignature([...parts, 'a']), sha1('a中😀！'))
  })

  test('handles any number of parts, including duplicates and empty strings', () => {
    assert.equal(computeSignature([]), sha1(''))
    assert.equal(computeSignature(['x']), sha1('x'))
    assert.equal(computeSignature(['b', 'a']), sha1('ab'))
    assert.equal(computeSignature(['b', '', 'a', 'b']), sha1('abb'))
    assert.equal(computeSignature(['same', 'same', 'same']), sha1('samesamesame'))
    assert.match(computeSignature(['t', '1', '2']), /^[0-9a-f]{40}$/)
  })
})

describe('signaturesEqual', () => {
  const good = sha1('x')

  test('accepts the same hex in either case', () => {
    assert.equal(signaturesEqual(good, good), true)
    assert.equal(signaturesEqual(good, good.toUpperCase()), true)
  })

  test('rejects a different, shorter, longer or empty signature', () => {
    assert.equal(signaturesEqual(good, sha1('y')), false)
    assert.equal(signaturesEqual(good, good.slice(0, 39)), false)
    assert.equal(signaturesEqual(good, `${good}0`), false)
    assert.equal(signaturesEqual(good, ''), false)
    assert.equal(signaturesEqual('', ''), false, 'an empty expected signature never matches')
  })

  test('returns false, never throws, when lower-casing changes the length', () => {
    // 'İ' (U+0130) lower-cases to two code units: 40 characters become 80.
    assert.equal(signaturesEqual(good, 'İ'.repeat(40)), false)
    assert.equal(verifySignature('token', '1', '2', 'İ'.repeat(40)), false)
    assert.equal(verifyMsgSignature('token', '1', '2', 'enc', `${'İ'.repeat(20)}${'0'.repeat(20)}`), false)
  })

  test('rejects non-hex garbage of the right length', () => {
    assert.equal(signaturesEqual(good, 'z'.repeat(40)), false)
    assert.equal(signaturesEqual(good, '中'.repeat(40)), false)
  })

  test('rejects a non-hex alias of the right signature (characters that share a low byte with a hex digit)', () => {
    // 'š' is U+0161: its low byte 0x61 is 'a'. Read as latin1 it would pass for 'a'.
    const alias = [...good].map((c) => (c === 'a' ? 'š' : c)).join('')
    assert.ok(alias !== good && good.includes('a'))
    assert.equal(signaturesEqual(good, alias), false)
  })
})
