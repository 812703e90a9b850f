import type { DownloadedFile, WechatApi } from './client.js'
import { ApiUnreachableError } from './errors.js'

/**
 * A media type WeChat stores: `image`, `voice`, `video`, or `thumb` (the small JPG cover of a video
 * or music message). WeChat's limits (developers.weixin.qq.com, 素材管理):
 *
 * | type  | temporary (media/upload)      | permanent (material/add_material)  |
 * |-------|-------------------------------|------------------------------------|
 * | image | 10 MB, png/jpeg/jpg/gif       | 10 MB, bmp/png/jpeg/jpg/gif        |
 * | voice | 2 MB, ≤ 60 s, amr/mp3         | 2 MB, ≤ 60 s, mp3/wma/wav/amr      |
 * | video | 10 MB, mp4                    | 10 MB, mp4                         |
 * | thumb | 64 KB, jpg                    | 64 KB, jpg                         |
 *
 * WeChat judges the format by the file name's extension (40005 "invalid file type" otherwise), so
 * the name must end with the right one.
 */
export type MediaType = 'image' | 'voice' | 'video' | 'thumb'

/** A file to upload: its bytes, its name (with the extension WeChat checks), its content type. */
export interface MediaFile {
  data: Uint8Array | Blob
  /** The file name, e.g. `cover.jpg`. WeChat requires the extension to match the media type. */
  filename: string
  /** Default: the Blob's own type, else guessed from the extension, else `application/octet-stream`. */
  contentType?: string
}

/** What `media/upload` answers. */
export interface UploadedMedia {
  type: MediaType
  media_id: string
  /** Upload time, Unix seconds. The media expires 3 days later. */
  created_at: number
}

/** What `media/get` answers for a temporary video: a download address instead of the bytes. */
export interface TemporaryVideo {
  video_url: string
}

/** What `material/add_material` answers. */
export interface AddedMaterial {
  media_id: string
  /** The image's URL (images only), usable inside Tencent domains. */
  url?: string
}

/** The `description` a permanent video needs. */
export interface VideoDescription {
  title: string
  introduction: string
}

/** A permanent video, as `material/get_material` answers it. */
export interface MaterialVideo {
  title: string
  description: string
  down_url: string
}

/** One article of a permanent news item (the pre-2021 图文素材; new ones are drafts). */
export interface MaterialNewsArticle {
  title: string
  thumb_media_id: string
  thumb_url?: string
  show_cover_pic?: number
  author?: string
  digest?: string
  content: string
  url: string
  content_source_url?: string
  need_open_comment?: number
  only_fans_can_comment?: number
}

/** A permanent news item, as `material/get_material` answers it. */
export interface MaterialNews {
  news_item: MaterialNewsArticle[]
}

/** What `material/get_material` answers: the file (image, voice, thumb), or JSON (video, news). */
export type Material = DownloadedFile | MaterialVideo | MaterialNews

/** The number of permanent materials of each type. */
export interface MaterialCount {
  voice_count: number
  video_count: number
  image_count: number
  news_count: number
}

/** The types `material/batchget_material` lists. */
export type MaterialListType = 'image' | 'video' | 'voice' | 'news'

/** A listed image, voice or video. */
export interface MaterialFileItem {
  media_id: string
  /** The uploaded file's name. */
  name: string
  /** Unix seconds. */
  update_time: number
  url?: string
}

/** A listed news item. */
export interface MaterialNewsItem {
  media_id: string
  content: { news_item: MaterialNewsArticle[]; create_time?: number; update_time?: number }
  update_time: number
}

/** A page of `material/batchget_material`. */
export interface MaterialList<T> {
  /** All materials of the type. */
  total_count: number
  /** The materials on this page. */
  item_count: number
  item: T[]
}

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
  mp3: 'audio/mpeg',
  amr: 'audio/amr',
  wav: 'audio/wav',
  wma: 'audio/x-ms-wma',
  mp4: 'video/mp4',
}

/** The content type of a file name's extension, `application/octet-stream` when unknown. */
export function contentTypeOf(filename: string): string {
  const extension = /\.([^./\\]+)$/.exec(filename)?.[1]?.toLowerCase() ?? ''
  return CONTENT_TYPES[extension] ?? 'application/octet-stream'
}

/**
 * The multipart body WeChat expects for an upload: the file in the field `media`, with its file
 * name and content type, and any extra text fields (a permanent video's `description`).
 */
export function mediaForm(file: MediaFile, fields: Record<string, string> = {}): FormData {
  const form = new FormData()
  const ownType = file.data instanceof Blob ? file.data.type : ''
  const type = file.contentType ?? (ownType || contentTypeOf(file.filename))
  const blob =
    file.data instanceof Blob
      ? file.data.type === type
        ? file.data
        : new Blob([file.data], { type })
      : new Blob([file.data as Uint8Array<ArrayBuffer>], { type })
  form.append('media', blob, file.filename)
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  return form
}

/**
 * Temporary media (临时素材, `/cgi-bin/media/*`): kept 3 days after upload (or after a follower
 * sent them), then gone (40007). Inbound media (a follower's image or voice) are temporary too:
 * download them promptly.
 */
export class MediaApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * Uploads a temporary file; its `media_id` lasts 3 days and can be reused meanwhile.
   *
   * @example
   * const { media_id } = await api.media.upload('image', { data: png, filename: 'chart.png' })
   * await api.customService.send(openid, { type: 'image', mediaId: media_id })
   */
  upload(type: MediaType, file: MediaFile): Promise<UploadedMedia> {
    return this.api.call<UploadedMedia>('/cgi-bin/media/upload', { query: { type }, form: mediaForm(file) })
  }

  /**
   * Downloads a temporary file: its bytes, or `{ video_url }` for a video.
   *
   * @example
   * const media = await api.media.get(message.mediaId)
   * if ('data' in media) await writeFile(`in/${media.filename}`, media.data)
   * else console.log('video at', media.video_url)
   */
  get(mediaId: string): Promise<DownloadedFile | TemporaryVideo> {
    return this.api.download<TemporaryVideo>('/cgi-bin/media/get', { query: { media_id: mediaId } })
  }

  /**
   * Downloads a voice recorded with the JS-SDK's `uploadVoice` (its `serverId`) in high quality:
   * speex, 16 kHz (`get` gives amr, 8 kHz). Better for speech recognition.
   *
   * @example
   * const voice = await api.media.getJssdkVoice(serverId)
   * await recognize(voice.data) // voice.contentType is 'voice/speex'
   */
  async getJssdkVoice(mediaId: string): Promise<DownloadedFile> {
    const path = '/cgi-bin/media/get/jssdk'
    const answer = await this.api.download<Record<string, unknown>>(path, { query: { media_id: mediaId } })
    if (!isFile(answer)) throw new ApiUnreachableError(path, 'WeChat answered JSON where a file was expected')
    return answer
  }

  /**
   * Uploads a picture for use inside an article's content (jpg/png, under 1 MB) and returns its
   * URL. It does not count against the material library; WeChat drops images from elsewhere.
   *
   * @example
   * const url = await api.media.uploadImage({ data: jpg, filename: 'figure1.jpg' })
   * const content = `<p>Results:</p><img src="${url}">`
   */
  async uploadImage(file: MediaFile): Promise<string> {
    const { url } = await this.api.call<{ url: string }>('/cgi-bin/media/uploadimg', {
      form: mediaForm(file),
    })
    return url
  }
}

/**
 * Permanent material (永久素材, `/cgi-bin/material/*`): kept until deleted. The library holds up to
 * 100 000 images and 1 000 of each other type.
 */
export class MaterialApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * Adds a permanent image, voice, video or thumb. A video needs its title and introduction.
   *
   * @example
   * const { media_id } = await api.material.add('thumb', { data: jpg, filename: 'cover.jpg' })
   * const video = await api.material.add('video', { data: mp4, filename: 'intro.mp4' },
   *   { title: 'Intro', introduction: 'Our first video' })
   */
  add(type: MediaType, file: MediaFile, videoDescription?: VideoDescription): Promise<AddedMaterial> {
    const fields: Record<string, string> = {}
    if (videoDescription) fields.description = JSON.stringify(videoDescription)
    return this.api.call<AddedMaterial>('/cgi-bin/material/add_material', {
      query: { type },
      form: mediaForm(file, fields),
      idempotent: false,
    })
  }

  /**
   * Gets a permanent material: the file for an image, voice or thumb; `{ title, description,
   * down_url }` for a video; `{ news_item }` for a news item.
   *
   * @example
   * const material = await api.material.get(mediaId)
   * if ('data' in material) await writeFile('cover.jpg', material.data)
   * else if ('down_url' in material) console.log(material.title, material.down_url)
   */
  get(mediaId: string): Promise<Material> {
    return this.api.download<MaterialVideo | MaterialNews>('/cgi-bin/material/get_material', {
      json: { media_id: mediaId },
    })
  }

  /**
   * Deletes a permanent material (irreversible).
   *
   * @example
   * await api.material.delete(mediaId)
   */
  async delete(mediaId: string): Promise<void> {
    await this.api.call('/cgi-bin/material/del_material', { json: { media_id: mediaId } })
  }

  /**
   * Counts the permanent materials of each type.
   *
   * @example
   * const { image_count, video_count } = await api.material.count()
   */
  count(): Promise<MaterialCount> {
    return this.api.call<MaterialCount>('/cgi-bin/material/get_materialcount')
  }

  /**
   * Lists permanent materials of one type, a page at a time (`count` 1–20).
   *
   * @example
   * const page = await api.material.list('image', 0, 20)
   * for (const { media_id, name, url } of page.item) console.log(media_id, name, url)
   */
  list(type: 'news', offset?: number, count?: number): Promise<MaterialList<MaterialNewsItem>>
  list(
    type: Exclude<MaterialListType, 'news'>,
    offset?: number,
    count?: number,
  ): Promise<MaterialList<MaterialFileItem>>
  list(
    type: MaterialListType,
    offset = 0,
    count = 20,
  ): Promise<MaterialList<MaterialFileItem> | MaterialList<MaterialNewsItem>> {
    return this.api.call('/cgi-bin/material/batchget_material', { json: { type, offset, count } })
  }
}

function isFile(value: unknown): value is DownloadedFile {
  return (
    typeof value === 'object' && value !== null && (value as { data?: unknown }).data instanceof Uint8Array
  )
}
