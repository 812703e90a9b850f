import { contentTypeOf } from '../../../api/media.js'
import { type Route, StandInError, type StandInRequest, type WechatApiStandIn } from '../server.js'

/**
 * Temporary media (`/cgi-bin/media/*`) and permanent material (`/cgi-bin/material/*`), as WeChat
 * documents them (developers.weixin.qq.com, 素材管理, the current pages):
 *
 * - Uploads are multipart with the file in the field `media`; without it (or without a file name):
 *   41005 "media data missing". The media type must be image/voice/video/thumb: 40004.
 * - The format is judged by the file name's extension (40005 "invalid file type"); see
 *   {@link TEMPORARY_MEDIA_RULES} and {@link PERMANENT_MATERIAL_RULES} for the formats and sizes
 *   (40006 "invalid file size" beyond them; an empty file: 44001 "empty media data").
 * - `media/uploadimg` (pictures inside articles): jpg/png under 1 MB (40005, 40009 "invalid image size").
 * - Temporary media live 3 days from upload (by the stand-in's clock), then 40007 "invalid media_id",
 *   as does any id the app did not upload. Every app only sees its own media.
 * - Downloads return exactly the uploaded bytes with their content type, and a Content-Disposition
 *   file name (`MEDIA_ID.ext` for temporary media, the uploaded name for permanent material). A
 *   temporary video answers `{video_url}`, a permanent one `{title, description, down_url}`; those
 *   URLs (and image URLs) are served by the stand-in itself.
 * - `media/get/jssdk`: the stand-in has no JS-SDK, so a temporary voice uploaded with `media/upload`
 *   stands for `uploadVoice`'s serverId; its bytes come back labelled `voice/speex`.
 * - `material/batchget_material`: type image/video/voice/news (40004), count 1–20 and offset ≥ 0
 *   (40097 "invalid args"), newest first. Thumbs are listed and counted with images.
 * - `material/add_news` has been retired by WeChat: 45103.
 */

const KB = 1024
const MB = 1024 * KB

/** How long temporary media live: 3 days. */
export const TEMPORARY_MEDIA_TTL = 3 * 86_400_000

/** The formats (file name extensions) and the largest size a media type accepts. */
export interface FileRule {
  extensions: readonly string[]
  maxBytes: number
}

type MediaType = 'image' | 'voice' | 'video' | 'thumb'
const MEDIA_TYPES: readonly string[] = ['image', 'voice', 'video', 'thumb']

/**
 * `media/upload`, per the current 新增临时素材 page's format table (image 10 MB png/jpeg/jpg/gif,
 * voice 2 MB amr/mp3, video 10 MB mp4, thumb 64 KB jpg). The same page also says "图片2MB" in its
 * notes and older copies say image 2 MB, voice 5 MB: the table, which matches the permanent
 * material page and the English page, is what is enforced.
 */
export const TEMPORARY_MEDIA_RULES: Record<MediaType, FileRule> = {
  image: { extensions: ['png', 'jpeg', 'jpg', 'gif'], maxBytes: 10 * MB },
  voice: { extensions: ['amr', 'mp3'], maxBytes: 2 * MB },
  video: { extensions: ['mp4'], maxBytes: 10 * MB },
  thumb: { extensions: ['jpg', 'jpeg'], maxBytes: 64 * KB },
}

/** `material/add_material`, per the current 上传永久素材 page. */
export const PERMANENT_MATERIAL_RULES: Record<MediaType, FileRule> = {
  image: { extensions: ['bmp', 'png', 'jpeg', 'jpg', 'gif'], maxBytes: 10 * MB },
  voice: { extensions: ['mp3', 'wma', 'wav', 'amr'], maxBytes: 2 * MB },
  video: { extensions: ['mp4'], maxBytes: 10 * MB },
  thumb: { extensions: ['jpg', 'jpeg'], maxBytes: 64 * KB },
}

/** `media/uploadimg`: "图片仅支持jpg/png格式，大小必须在1MB以下". */
export const ARTICLE_IMAGE_RULE: FileRule = { extensions: ['jpg', 'jpeg', 'png'], maxBytes: MB - 1 }

/** A file the stand-in keeps. */
export interface StoredMedia {
  mediaId: string
  appId: string
  type: MediaType
  /** The uploaded file name. */
  name: string
  extension: string
  contentType: string
  data: Uint8Array
  /** ms, by the stand-in's clock. */
  createdAt: number
  /** Temporary media only. */
  expiresAt: number | undefined
  /** The id in the stand-in's file URLs. */
  urlId: string
  /** A permanent video's description. */
  description?: { title: string; introduction: string }
}

interface AppMedia {
  temporary: Map<string, StoredMedia>
  permanent: Map<string, StoredMedia>
}

interface MediaState {
  apps: Map<string, AppMedia>
  /** Files reachable by URL (image URLs, video URLs, article images), by urlId. */
  files: Map<string, StoredMedia>
}

const states = new WeakMap<WechatApiStandIn, MediaState>()

function stateOf(standIn: WechatApiStandIn): MediaState {
  let state = states.get(standIn)
  if (!state) {
    state = { apps: new Map(), files: new Map() }
    states.set(standIn, state)
  }
  return state
}

function appMedia(standIn: WechatApiStandIn, appId: string): AppMedia {
  const state = stateOf(standIn)
  let app = state.apps.get(appId)
  if (!app) {
    app = { temporary: new Map(), permanent: new Map() }
    state.apps.set(appId, app)
  }
  return app
}

/** The stand-in URL a stored file is downloaded from. */
export function fileUrl(standIn: WechatApiStandIn, media: StoredMedia): string {
  return `${standIn.url}/stand-in/file?id=${media.urlId}`
}

/** An app's permanent material, if it exists (drafts use it for covers and images). */
export function permanentMaterial(
  standIn: WechatApiStandIn,
  appId: string,
  mediaId: unknown,
): StoredMedia | undefined {
  return typeof mediaId === 'string' ? appMedia(standIn, appId).permanent.get(mediaId) : undefined
}

/** Checks a page request as WeChat's list APIs do: offset ≥ 0, count 1–20 (40097 otherwise). */
export function checkPage(offset: unknown, count: unknown): { offset: number; count: number } {
  if (!Number.isInteger(offset) || (offset as number) < 0 || !Number.isInteger(count)) {
    throw new StandInError(40097, 'invalid args')
  }
  if ((count as number) < 1 || (count as number) > 20) throw new StandInError(40097, 'invalid args')
  return { offset: offset as number, count: count as number }
}

const invalidMediaId = () => new StandInError(40007, 'invalid media_id')

function extensionOf(name: string): string {
  return /\.([^./\\]+)$/.exec(name)?.[1]?.toLowerCase() ?? ''
}

async function readUpload(request: StandInRequest): Promise<{ file: File; form: FormData }> {
  let form: FormData
  try {
    form = await request.form()
  } catch {
    throw new StandInError(41005, 'media data missing')
  }
  const file = form.get('media')
  if (!(file instanceof File)) throw new StandInError(41005, 'media data missing')
  return { file, form }
}

function checkFile(file: File, rule: FileRule, tooBig: StandInError): string {
  const extension = extensionOf(file.name)
  if (!rule.extensions.includes(extension)) throw new StandInError(40005, 'invalid file type')
  if (file.size === 0) throw new StandInError(44001, 'empty media data')
  if (file.size > rule.maxBytes) throw tooBig
  return extension
}

async function store(
  standIn: WechatApiStandIn,
  appId: string,
  type: MediaType,
  file: File,
  extension: string,
  temporary: boolean,
): Promise<StoredMedia> {
  const now = standIn.now()
  const given = file.type.split(';')[0]?.trim() ?? ''
  const media: StoredMedia = {
    mediaId: standIn.newId(),
    appId,
    type,
    name: file.name,
    extension,
    contentType: given && given !== 'application/octet-stream' ? file.type : contentTypeOf(file.name),
    data: new Uint8Array(await file.arrayBuffer()),
    createdAt: now,
    expiresAt: temporary ? now + TEMPORARY_MEDIA_TTL : undefined,
    urlId: standIn.newId(),
  }
  stateOf(standIn).files.set(media.urlId, media)
  return media
}

/** A Content-Disposition header for any file name: ASCII as is, else a fallback and RFC 5987 `filename*`. */
function disposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_')
  if (ascii === filename) return `attachment; filename="${filename}"`
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

function fileAnswer(data: Uint8Array, contentType: string, filename: string) {
  return {
    raw: {
      headers: {
        'content-type': contentType,
        'content-disposition': disposition(filename),
        'cache-control': 'no-cache, must-revalidate',
      },
      body: data,
    },
  }
}

function mediaIdOf(request: StandInRequest): unknown {
  return request.json<{ media_id?: unknown }>().media_id
}

/** The stand-in's routes for temporary media and permanent material. */
export function mediaRoutes(standIn: WechatApiStandIn): Route[] {
  const temporary = (appId: string, mediaId: string | null): StoredMedia => {
    const app = appMedia(standIn, appId)
    const media = mediaId === null ? undefined : app.temporary.get(mediaId)
    if (!media) throw invalidMediaId()
    if (media.expiresAt !== undefined && media.expiresAt <= standIn.now()) {
      app.temporary.delete(media.mediaId)
      stateOf(standIn).files.delete(media.urlId)
      throw invalidMediaId()
    }
    return media
  }

  const permanent = (appId: string, mediaId: unknown): StoredMedia => {
    const media = permanentMaterial(standIn, appId, mediaId)
    if (!media) throw invalidMediaId()
    return media
  }

  const mediaType = (value: string | null): MediaType => {
    if (value === null || !MEDIA_TYPES.includes(value)) throw new StandInError(40004, 'invalid media type')
    return value as MediaType
  }

  const libraryType = (media: StoredMedia) => (media.type === 'thumb' ? 'image' : media.type)

  return [
    {
      method: 'POST',
      path: '/cgi-bin/media/upload',
      async handle(request) {
        const type = mediaType(request.query.get('type'))
        const { file } = await readUpload(request)
        const extension = checkFile(
          file,
          TEMPORARY_MEDIA_RULES[type],
          new StandInError(40006, 'invalid file size'),
        )
        const media = await store(standIn, request.appId, type, file, extension, true)
        appMedia(standIn, request.appId).temporary.set(media.mediaId, media)
        return { type, media_id: media.mediaId, created_at: Math.floor(media.createdAt / 1000) }
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/media/get',
      handle(request) {
        const media = temporary(request.appId, request.query.get('media_id'))
        if (media.type === 'video') return { video_url: fileUrl(standIn, media) }
        return fileAnswer(media.data, media.contentType, `${media.mediaId}.${media.extension}`)
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/media/get/jssdk',
      handle(request) {
        const media = temporary(request.appId, request.query.get('media_id'))
        if (media.type !== 'voice') throw invalidMediaId()
        return fileAnswer(media.data, 'voice/speex', `${media.mediaId}.speex`)
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/media/uploadimg',
      async handle(request) {
        const { file } = await readUpload(request)
        const extension = checkFile(file, ARTICLE_IMAGE_RULE, new StandInError(40009, 'invalid image size'))
        const media = await store(standIn, request.appId, 'image', file, extension, false)
        return { url: fileUrl(standIn, media) }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/material/add_material',
      async handle(request) {
        const type = mediaType(request.query.get('type'))
        const { file, form } = await readUpload(request)
        const extension = checkFile(
          file,
          PERMANENT_MATERIAL_RULES[type],
          new StandInError(40006, 'invalid file size'),
        )
        let description: StoredMedia['description']
        if (type === 'video') {
          const raw = form.get('description')
          if (typeof raw !== 'string')
            throw new StandInError(40097, 'invalid args: video needs a description')
          let parsed: { title?: unknown; introduction?: unknown }
          try {
            parsed = JSON.parse(raw) as typeof parsed
          } catch {
            throw new StandInError(47001, 'data format error')
          }
          if (typeof parsed !== 'object' || parsed === null)
            throw new StandInError(47001, 'data format error')
          description = {
            title: typeof parsed.title === 'string' ? parsed.title : '',
            introduction: typeof parsed.introduction === 'string' ? parsed.introduction : '',
          }
        }
        const media = await store(standIn, request.appId, type, file, extension, false)
        if (description) media.description = description
        appMedia(standIn, request.appId).permanent.set(media.mediaId, media)
        return type === 'image'
          ? { media_id: media.mediaId, url: fileUrl(standIn, media) }
          : { media_id: media.mediaId }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/material/add_news',
      handle() {
        throw new StandInError(45103, 'This API has been unsupported')
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/material/get_material',
      handle(request) {
        const media = permanent(request.appId, mediaIdOf(request))
        if (media.type === 'video') {
          return {
            title: media.description?.title ?? '',
            description: media.description?.introduction ?? '',
            down_url: fileUrl(standIn, media),
          }
        }
        return fileAnswer(media.data, media.contentType, media.name)
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/material/del_material',
      handle(request) {
        const media = permanent(request.appId, mediaIdOf(request))
        appMedia(standIn, request.appId).permanent.delete(media.mediaId)
        stateOf(standIn).files.delete(media.urlId)
        return {}
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/material/get_materialcount',
      handle(request) {
        const counts = { voice_count: 0, video_count: 0, image_count: 0, news_count: 0 }
        for (const media of appMedia(standIn, request.appId).permanent.values()) {
          counts[`${libraryType(media)}_count`]++
        }
        return counts
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/material/batchget_material',
      handle(request) {
        const body = request.json<{ type?: unknown; offset?: unknown; count?: unknown }>()
        const type = body.type
        if (type !== 'image' && type !== 'video' && type !== 'voice' && type !== 'news') {
          throw new StandInError(40004, 'invalid media type')
        }
        const { offset, count } = checkPage(body.offset, body.count)
        const all = [...appMedia(standIn, request.appId).permanent.values()]
          .filter((media) => libraryType(media) === type)
          .reverse()
        const page = all.slice(offset, offset + count).map((media) => ({
          media_id: media.mediaId,
          name: media.name,
          update_time: Math.floor(media.createdAt / 1000),
          url: fileUrl(standIn, media),
        }))
        return { total_count: all.length, item_count: page.length, item: page }
      },
    },
    {
      // Not WeChat's: where the stand-in serves the URLs it hands out (video_url, down_url, image URLs).
      method: 'GET',
      path: '/stand-in/file',
      auth: 'none',
      handle(request) {
        const media = stateOf(standIn).files.get(request.query.get('id') ?? '')
        if (!media || (media.expiresAt !== undefined && media.expiresAt <= standIn.now())) {
          return { raw: { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' } }
        }
        return fileAnswer(media.data, media.contentType, media.name)
      },
    },
  ]
}
