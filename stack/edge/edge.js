// The playback edge's logic, in njs (nginx's JavaScript, Debian's libnginx-mod-http-js, njs 0.7.9):
// - the token in the path is verified here, with no request to the API (api/domain/playback/tokens.py
//   is the same check in Python, the reference the tests hold this one to);
// - the video's playability (ready; public, or private for its owner's tokens) is asked of the API
//   once per video per few seconds, through a cached subrequest (/_playable/{id});
// - the edge reads the private bucket with its own credentials, signing each request (SigV4).
// Secrets come from the environment (nginx.conf's `env` lines), never from the configuration file.
import crypto from 'crypto';

// /videos/{id}/{expires}.{scope}.{audience}.{key id}.{signature}/{file}; file: 1-4 plain segments,
// none starting with a dot (no traversal); anything else (%-escapes included) is malformed.
const PATH = new RegExp(
    '^/videos/([1-9][0-9]{0,18})/([0-9]{1,12})\\.(any|ip)\\.(pub|own)\\.([a-z0-9]{1,8})\\.([A-Za-z0-9_-]{43})' +
    '/((?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}/){0,3}[A-Za-z0-9_][A-Za-z0-9_.-]{0,99})$');
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function keys() {
    // "id:base64,id:base64": every key listed verifies (the API signs with the first).
    const found = {};
    (process.env.VIDSTORE_PLAYBACK_KEYS || '').split(',').forEach((item) => {
        const at = item.indexOf(':');
        if (at > 0) {
            found[item.slice(0, at).trim()] = Buffer.from(item.slice(at + 1).trim(), 'base64');
        }
    });
    return found;
}

function same(a, b) {
    // Constant time for equal lengths (the pattern fixes the signature's length at 43).
    if (a.length !== b.length) {
        return false;
    }
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
        diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
    }
    return diff === 0;
}

function parse(r) {
    const m = PATH.exec(r.variables.request_uri);
    return m && { id: m[1], expires: m[2], scope: m[3], audience: m[4], kid: m[5], sig: m[6], file: m[7] };
}

// The token checks, in the order tokens.verify_path makes them: {status, reason} or {status: 0, t}.
function verify(r) {
    if (r.variables.request_uri.length > 1024 || r.variables.args) {
        return { status: 400, reason: 'malformed playback path (no query strings; at most 1024 bytes)' };
    }
    const t = parse(r);
    if (!t) {
        return { status: 400, reason: 'malformed playback path' };
    }
    const key = keys()[t.kid];
    if (!key) {
        return { status: 403, reason: 'unknown or retired key' };
    }
    const ip = t.scope === 'ip' ? r.remoteAddress : '';
    const message = `v2|${t.kid}|${t.expires}|${t.scope}|${t.audience}|/videos/${t.id}/|${ip}`;
    const expected = crypto.createHmac('sha256', key).update(message).digest('base64url');
    // Compared before the expiry is looked at, so timing says nothing about which check failed.
    if (!same(expected, t.sig)) {
        return { status: 403, reason: 'signature does not match this video, address or expiry' };
    }
    if (Date.now() / 1000 >= Number(t.expires)) {
        return { status: 403, reason: 'token expired' };
    }
    return { status: 0, t: t };
}

function refuse(r, status, reason) {
    r.headersOut['Content-Type'] = 'text/plain';
    r.headersOut['Access-Control-Allow-Origin'] = '*'; // a player on another origin sees the status
    r.return(status, reason + '\n');
}

async function serve(r) {
    const v = verify(r);
    if (v.status) {
        refuse(r, v.status, v.reason);
        return;
    }
    const reply = await r.subrequest('/_playable/' + v.t.id);
    let playable = null;
    if (reply.status === 200) {
        try {
            playable = JSON.parse(reply.responseText).playable;
        } catch (e) {
            playable = null;
        }
    }
    if (reply.status !== 200 && reply.status !== 404) {
        refuse(r, 503, 'playback authorisation unavailable, retry shortly');
        return;
    }
    // Unready, deleted, and (for strangers' tokens) private videos: the 404 the API gives strangers.
    if (playable !== 'public' && !(playable === 'private' && v.t.audience === 'own')) {
        refuse(r, 404, 'video not found');
        return;
    }
    r.internalRedirect(v.t.file.endsWith('.m3u8') ? '@playlist' : '@segment');
}

// The bucket key the file is cached under and fetched from: the path without the token, so every
// viewer of a video shares one cached copy.
function objectKey(r) {
    const t = parse(r);
    return t ? `videos/${t.id}/${t.file}` : '';
}

function storageHost() {
    return (process.env.VIDSTORE_S3_ENDPOINT || '').replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

function storagePath(r) {
    return `/${process.env.VIDSTORE_S3_BUCKET || 'vidstore'}/${objectKey(r)}`;
}

function amzDate(r) {
    return new Date().toISOString().replace(/[-:]/g, '').replace(/\.[0-9]{3}/, '');
}

function hmac(key, data) {
    return crypto.createHmac('sha256', key).update(data).digest();
}

// AWS Signature V4 for a GET with no body (the header form S3, MinIO and versitygw accept). The
// date comes from $s3_date, which nginx computes once per request, so header and signature agree.
function storageAuthorization(r) {
    const date = r.variables.s3_date;
    const day = date.slice(0, 8);
    const region = process.env.VIDSTORE_S3_REGION || 'us-east-1';
    const scope = `${day}/${region}/s3/aws4_request`;
    const signed = 'host;x-amz-content-sha256;x-amz-date';
    const canonical = ['GET', storagePath(r), '', `host:${storageHost()}`,
        `x-amz-content-sha256:${EMPTY_SHA256}`, `x-amz-date:${date}`, '', signed, EMPTY_SHA256].join('\n');
    const toSign = ['AWS4-HMAC-SHA256', date, scope,
        crypto.createHash('sha256').update(canonical).digest('hex')].join('\n');
    let k = hmac('AWS4' + process.env.VIDSTORE_EDGE_S3_SECRET_KEY, day);
    k = hmac(hmac(hmac(k, region), 's3'), 'aws4_request');
    const signature = crypto.createHmac('sha256', k).update(toSign).digest('hex');
    return `AWS4-HMAC-SHA256 Credential=${process.env.VIDSTORE_EDGE_S3_ACCESS_KEY}/${scope}, ` +
        `SignedHeaders=${signed}, Signature=${signature}`;
}

function edgeSecret(r) {
    return process.env.VIDSTORE_EDGE_SECRET || '';
}

export default { serve, objectKey, storageHost, storagePath, amzDate, storageAuthorization, edgeSecret };
