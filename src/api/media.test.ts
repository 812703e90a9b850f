import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createApi, type DownloadedFile, type WechatApi } from './client.js'
import { WechatApiError } from './errors.js'
import { contentTypeOf, mediaForm } from './media.js'

const appId = 'wx1234567890abcdef'
const otherAppId = 'wxfedcba0987654321'
const DAY = 86_400_000

/** One clock for the stand-in and the clients, moved by the expiry tests. */
let clock = Date.UTC(2024, 5, 1, 8, 0, 0)
const now = () => clock

/** Every byte value, so that any text decoding on the way breaks the round trip. */
const bytes = (length = 512, seed = 0) => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) % 256)

const failsWith = (errcode: number) => (error: unknown) => {
  assert.ok(error instanceof WechatApiError, `expected a WechatApiError, got ${String(error)}`)
  assert.equal(error.errcode, errcode, `expected errcode ${errcode}, got ${error.errcode} ${error.errmsg}`)
  return true
}

const isFile = (value: unknown): DownloadedFile => {
  assert.ok(typeof value === 'object' && value !== null && 'data' in value, 'expected a file')
  return value as DownloadedFile
}

/** The multipart bodies a client sent, parsed as a server would. */
interface SentUpload {
  url: URL
  form: FormData
  raw: string
}

let wechat: WechatApiStandIn
let api: WechatApi
let other: WechatApi
const uploads: SentUpload[] = []

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: 'secret', [otherAppId]: 'secret2' }, now })
  const capture: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    if (request.headers.get('content-type')?.startsWith('multipart/form-data')) {
      const [forForm, forRaw] = [request.clone(), request.clone()]
      uploads.push({ url: new URL(request.url), form: await forForm.formData(), raw: await forRaw.text() })
    }
    return fetch(request)
  }
  api = createApi({ appId, appSecret: 'secret', baseUrl: wechat.url, logger: false, now, fetch: capture })
  other = createApi({ appId: otherAppId, appSecret: 'secret2', baseUrl: wechat.url, logger: false, now })
})

after(() => wechat.close())

describe('temporary media', () => {
  test('an uploaded image comes back byte for byte, with its content type and a file name', async () => {
    const data = bytes(1000)
    const uploaded = await api.media.upload('image', {
      data,
      filename: 'chart.png',
      contentType: 'image/png',
    })
    assert.equal(uploaded.type, 'image')
    assert.match(uploaded.media_id, /^[\w-]{16,}$/)
    assert.equal(uploaded.created_at, Math.floor(clock / 1000))

    const file = isFile(await api.media.get(uploaded.media_id))
    assert.deepEqual(file.data, data)
    assert.equal(file.contentType, 'image/png')
    assert.equal(file.filename, `${uploaded.media_id}.png`)
  })

  test('the upload is multipart as WeChat expects: the file in field "media", with name and type', async () => {
    uploads.length = 0
    const data = bytes(300, 3)
    await api.media.upload('thumb', { data, filename: 'cover.jpg' })
    assert.equal(uploads.length, 1)
    const sent = uploads[0]!
    assert.equal(sent.url.pathname, '/cgi-bin/media/upload')
    assert.equal(sent.url.searchParams.get('type'), 'thumb')
    assert.ok(sent.url.searchParams.get('access_token'))
    assert.deepEqual([...sent.form.keys()], ['media'])
    const part = sent.form.get('media')
    assert.ok(part instanceof File)
    assert.equal(part.name, 'cover.jpg')
    assert.equal(part.type, 'image/jpeg', 'content type guessed from the extension')
    assert.deepEqual(new Uint8Array(await part.arrayBuffer()), data)
    assert.match(sent.raw, /Content-Disposition: form-data; name="media"; filename="cover\.jpg"\r\n/)
    assert.match(sent.raw, /Content-Type: image\/jpeg\r\n/)
  })

  test('a Blob is sent as it is, its own type kept, and comes back unchanged', async () => {
    const data = bytes(700, 5)
    const blob = new Blob([data], { type: 'audio/mpeg' })
    const { media_id } = await api.media.upload('voice', { data: blob, filename: 'hello.mp3' })
    const file = isFile(await api.media.get(media_id))
    assert.deepEqual(file.data, data)
    assert.equal(file.contentType, 'audio/mpeg')
  })

  test('a temporary video answers its video_url, which serves the uploaded bytes', async () => {
    const data = bytes(4096, 9)
    const { media_id, type } = await api.media.upload('video', { data, filename: 'clip.mp4' })
    assert.equal(type, 'video')
    const answer = await api.media.get(media_id)
    assert.ok('video_url' in answer, 'a video is answered with JSON, not bytes')
    const response = await fetch(answer.video_url)
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'video/mp4')
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), data)
  })

  test('the JS-SDK voice comes back as speex', async () => {
    const data = bytes(256, 11)
    const { media_id } = await api.media.upload('voice', { data, filename: 'said.amr' })
    const voice = await api.media.getJssdkVoice(media_id)
    assert.equal(voice.contentType, 'voice/speex')
    assert.equal(voice.filename, `${media_id}.speex`)
    assert.deepEqual(voice.data, data)

    const image = await api.media.upload('image', { data, filename: 'x.gif' })
    await assert.rejects(api.media.getJssdkVoice(image.media_id), failsWith(40007))
  })

  test('expires 3 days after upload (the stand-in and the client share the clock)', async () => {
    const data = bytes(128, 13)
    const { media_id } = await api.media.upload('image', { data, filename: 'soon.jpg' })
    clock += 3 * DAY - 1000
    assert.deepEqual(isFile(await api.media.get(media_id)).data, data)
    clock += 1000
    await assert.rejects(api.media.get(media_id), failsWith(40007))
    await assert.rejects(api.media.get(media_id), failsWith(40007))
  })

  test('unknown and other apps’ media ids: 40007', async () => {
    await assert.rejects(api.media.get('no-such-media-id'), failsWith(40007))
    const { media_id } = await api.media.upload('image', { data: bytes(64), filename: 'mine.png' })
    await assert.rejects(other.media.get(media_id), failsWith(40007))
    assert.ok(isFile(await api.media.get(media_id)))
  })

  test('an unknown media type: 40004', async () => {
    await assert.rejects(
      api.media.upload('file' as 'image', { data: bytes(64), filename: 'a.png' }),
      failsWith(40004),
    )
  })

  test('no "media" part: 41005 (another field name, or a part without a file name)', async () => {
    const wrongField = new FormData()
    wrongField.append('file', new Blob([bytes(64)], { type: 'image/png' }), 'a.png')
    await assert.rejects(
      api.call('/cgi-bin/media/upload', { query: { type: 'image' }, form: wrongField }),
      failsWith(41005),
    )
    const noFilename = new FormData()
    noFilename.append('media', 'not a file')
    await assert.rejects(
      api.call('/cgi-bin/media/upload', { query: { type: 'image' }, form: noFilename }),
      failsWith(41005),
    )
  })

  test('the format is judged by the extension, per media type: 40005', async () => {
    await assert.rejects(api.media.upload('image', { data: bytes(64), filename: 'a.txt' }), failsWith(40005))
    await assert.rejects(
      api.media.upload('image', { data: bytes(64), filename: 'noextension' }),
      failsWith(40005),
    )
    await assert.rejects(api.media.upload('video', { data: bytes(64), filename: 'a.png' }), failsWith(40005))
    await assert.rejects(api.media.upload('thumb', { data: bytes(64), filename: 'a.png' }), failsWith(40005))
    // bmp and wav are permanent-only formats.
    await assert.rejects(api.media.upload('image', { data: bytes(64), filename: 'a.bmp' }), failsWith(40005))
    await assert.rejects(api.media.upload('voice', { data: bytes(64), filename: 'a.wav' }), failsWith(40005))
    assert.equal((await api.media.upload('image', { data: bytes(64), filename: 'UPPER.JPEG' })).type, 'image')
  })

  test('sizes: thumb 64 KB, voice 2 MB, image 10 MB (40006); empty files 44001', async () => {
    const KB = 1024
    const MB = 1024 * KB
    assert.ok((await api.media.upload('thumb', { data: bytes(64 * KB), filename: 't.jpg' })).media_id)
    await assert.rejects(
      api.media.upload('thumb', { data: bytes(64 * KB + 1), filename: 't.jpg' }),
      failsWith(40006),
    )
    assert.ok((await api.media.upload('voice', { data: bytes(2 * MB), filename: 'v.mp3' })).media_id)
    await assert.rejects(
      api.media.upload('voice', { data: bytes(2 * MB + 1), filename: 'v.mp3' }),
      failsWith(40006),
    )
    assert.ok((await api.media.upload('image', { data: bytes(3 * MB), filename: 'big.png' })).media_id)
    await assert.rejects(
      api.media.upload('image', { data: bytes(10 * MB + 1), filename: 'i.png' }),
      failsWith(40006),
    )
    await assert.rejects(
      api.media.upload('image', { data: new Uint8Array(0), filename: 'e.png' }),
      failsWith(44001),
    )
  })

  test('article images: a URL serving the bytes; jpg/png only (40005), under 1 MB (40009)', async () => {
    const data = bytes(2048, 17)
    const url = await api.media.uploadImage({ data, filename: 'figure.jpg' })
    const response = await fetch(url)
    assert.equal(response.headers.get('content-type'), 'image/jpeg')
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), data)
    await assert.rejects(api.media.uploadImage({ data, filename: 'anim.gif' }), failsWith(40005))
    await assert.rejects(
      api.media.uploadImage({ data: bytes(1024 * 1024), filename: 'big.png' }),
      failsWith(40009),
    )
    const before = await api.material.count()
    await api.media.uploadImage({ data, filename: 'again.png' })
    assert.deepEqual(await api.material.count(), before, 'article images are not library material')
  })
})

describe('permanent material', () => {
  test('an image: added with a URL, downloaded byte for byte, listed, counted, deleted', async () => {
    const fresh = createApi({
      appId: otherAppId,
      appSecret: 'secret2',
      baseUrl: wechat.url,
      logger: false,
      now,
    })
    const start = await fresh.material.count()
    const data = bytes(5000, 21)
    const added = await fresh.material.add('image', { data, filename: 'logo.bmp' })
    assert.ok(added.url, 'images come with a URL')

    const file = await fresh.material.get(added.media_id)
    assert.ok('data' in file)
    assert.deepEqual(file.data, data)
    assert.equal(file.contentType, 'image/bmp')
    assert.equal(file.filename, 'logo.bmp')
    assert.deepEqual(new Uint8Array(await (await fetch(added.url)).arrayBuffer()), data)

    assert.equal((await fresh.material.count()).image_count, start.image_count + 1)
    const page = await fresh.material.list('image', 0, 20)
    assert.equal(page.total_count, start.image_count + 1)
    assert.deepEqual(
      page.item.find((item) => item.media_id === added.media_id),
      { media_id: added.media_id, name: 'logo.bmp', update_time: Math.floor(clock / 1000), url: added.url },
    )

    await fresh.material.delete(added.media_id)
    await assert.rejects(fresh.material.get(added.media_id), failsWith(40007))
    await assert.rejects(fresh.material.delete(added.media_id), failsWith(40007))
    assert.deepEqual(await fresh.material.count(), start)
  })

  test('a video: its description goes as a JSON form field; get answers title, description, down_url', async () => {
    uploads.length = 0
    const data = bytes(3000, 23)
    const { media_id, url } = await api.material.add(
      'video',
      { data, filename: 'intro.mp4' },
      { title: '介绍', introduction: 'Our first video' },
    )
    assert.equal(url, undefined, 'only images get a URL')
    const sent = uploads[0]!
    assert.equal(sent.url.pathname, '/cgi-bin/material/add_material')
    assert.equal(sent.url.searchParams.get('type'), 'video')
    assert.deepEqual([...sent.form.keys()], ['media', 'description'])
    assert.deepEqual(JSON.parse(String(sent.form.get('description'))), {
      title: '介绍',
      introduction: 'Our first video',
    })

    const video = await api.material.get(media_id)
    assert.ok('down_url' in video, 'a permanent video is answered with JSON')
    assert.equal(video.title, '介绍')
    assert.equal(video.description, 'Our first video')
    assert.deepEqual(new Uint8Array(await (await fetch(video.down_url)).arrayBuffer()), data)
    const listed = await api.material.list('video', 0, 1)
    assert.equal(listed.item_count, 1)
    assert.equal(listed.item[0]?.media_id, media_id, 'newest first')
  })

  test('a video without a description is refused (40097)', async () => {
    await assert.rejects(api.material.add('video', { data: bytes(100), filename: 'v.mp4' }), failsWith(40097))
  })

  test('voice and thumb: permanent-only formats (wav) accepted, bytes round-trip; others 40005', async () => {
    const data = bytes(900, 29)
    const voice = await api.material.add('voice', { data, filename: 'memo.wav' })
    const file = await api.material.get(voice.media_id)
    assert.ok('data' in file)
    assert.deepEqual(file.data, data)
    assert.equal(file.contentType, 'audio/wav')
    const thumb = await api.material.add('thumb', { data: bytes(100), filename: 'th.jpg' })
    assert.ok('data' in (await api.material.get(thumb.media_id)))
    await assert.rejects(
      api.material.add('thumb', { data: bytes(100), filename: 'th.png' }),
      failsWith(40005),
    )
    await assert.rejects(api.material.add('voice', { data: bytes(100), filename: 'a.ogg' }), failsWith(40005))
  })

  test('a non-ASCII file name is kept in the list and the download still works', async () => {
    const data = bytes(120, 31)
    const { media_id } = await api.material.add('image', { data, filename: '封面 "一".jpg' })
    const listed = (await api.material.list('image', 0, 20)).item.find((item) => item.media_id === media_id)
    assert.equal(listed?.name, '封面 "一".jpg')
    const file = await api.material.get(media_id)
    assert.ok('data' in file)
    assert.deepEqual(file.data, data)
    assert.equal(file.contentType, 'image/jpeg')
    assert.equal(file.filename, '封面 "一".jpg', "read from filename*=UTF-8''…")
  })

  test('a temporary media_id is not material (40007)', async () => {
    const { media_id } = await api.media.upload('image', { data: bytes(64), filename: 'tmp.png' })
    await assert.rejects(api.material.get(media_id), failsWith(40007))
  })

  test('list: count 1–20 (40097), listable types only (40004), pages by offset', async () => {
    await assert.rejects(api.material.list('image', 0, 0), failsWith(40097))
    await assert.rejects(api.material.list('image', 0, 21), failsWith(40097))
    await assert.rejects(api.material.list('image', -1, 10), failsWith(40097))
    await assert.rejects(api.material.list('thumb' as 'image', 0, 10), failsWith(40004))
    const ids: string[] = []
    for (const name of ['p1.png', 'p2.png', 'p3.png']) {
      ids.push((await other.material.add('image', { data: bytes(50), filename: name })).media_id)
    }
    const all = await other.material.list('image', 0, 20)
    const second = await other.material.list('image', 1, 1)
    assert.equal(second.item_count, 1)
    assert.equal(second.total_count, all.total_count)
    assert.equal(second.item[0]?.media_id, all.item[1]?.media_id)
    assert.equal(all.item[0]?.media_id, ids[2], 'newest first')
    const news = await api.material.list('news', 0, 20)
    assert.deepEqual(news.item, [])
  })

  test('permanent news can no longer be added (45103)', async () => {
    await assert.rejects(api.call('/cgi-bin/material/add_news', { json: { articles: [] } }), failsWith(45103))
  })
})

describe('mediaForm', () => {
  test('guesses content types from extensions and keeps a given one', async () => {
    assert.equal(contentTypeOf('a.PNG'), 'image/png')
    assert.equal(contentTypeOf('a.amr'), 'audio/amr')
    assert.equal(contentTypeOf('archive.tar.gz'), 'application/octet-stream')
    assert.equal(contentTypeOf('noext'), 'application/octet-stream')
    const form = mediaForm({ data: bytes(10), filename: 'x.bin', contentType: 'image/png' })
    const part = form.get('media')
    assert.ok(part instanceof File)
    assert.equal(part.type, 'image/png')
    assert.equal(part.name, 'x.bin')
  })
})
