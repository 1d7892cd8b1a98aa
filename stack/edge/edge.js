// The playback edge's logic, in njs (nginx's JavaScript, Debian's libnginx-mod-http-js, njs 0.7.9):
// - the token in the path is verified here, with no request to the API (api/domain/playback/tokens.py
//   is the same check in Python, the reference the tests hold this one to); nginx.conf acts on the
//   verdict natively ($edge_status, $edge_reason), so a segment is one njs call and a cache hit;
// - the API pushes revocations here (PUT /_edge/videos/{id}/revocation, the edge's secret): a video
//   made private or deleted leaves a file in the edge's revoked/ folder that nginx.conf checks;
// - the edge reads the private bucket with its own credentials, signing each request (SigV4).
// Secrets come from the environment (nginx.conf's `env` lines), never from the configuration file.
import crypto from 'crypto';
import fs from 'fs';

// /videos/{id}/{expires}.{scope}.{audience}.{key id}.{signature}/{file}; file: 1-4 plain segments,
// none starting with a dot (no traversal); anything else (%-escapes included) is malformed.
// Module-level values are copied into every request's VM: literals (a regex literal, strings) cost
// next to nothing there, `new RegExp` and Buffers cost a request a fifth of its time (measured).
const PATH = /^\/videos\/([1-9][0-9]{0,18})\/([0-9]{1,12})\.(any|ip)\.(pub|own)\.([a-z0-9]{1,8})\.([A-Za-z0-9_-]{43})\/((?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\/){0,3}[A-Za-z0-9_][A-Za-z0-9_.-]{0,99})$/;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

// "id:base64,id:base64": every key listed verifies (the API signs with the first). Read once, when
// nginx loads this file (a restart reads new keys: README, "Rotating the playback keys").
function readKeys() {
    const found = {};
    (process.env.VIDSTORE_PLAYBACK_KEYS || '').split(',').forEach((item) => {
        const at = item.indexOf(':');
        if (at > 0) {
            found[item.slice(0, at).trim()] = item.slice(at + 1).trim(); // base64, decoded when used
        }
    });
    return found;
}

const KEYS = readKeys();

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
    const encoded = KEYS[t.kid];
    if (!encoded) {
        return { status: 403, reason: 'unknown or retired key' };
    }
    const ip = t.scope === 'ip' ? r.remoteAddress : '';
    const message = `v2|${t.kid}|${t.expires}|${t.scope}|${t.audience}|/videos/${t.id}/|${ip}`;
    const key = Buffer.from(encoded, 'base64');
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

// A request's verdict, computed once: njs gives each request a VM of its own, and nginx asks for
// several of the variables below.
let memo = null;

function verdict(r) {
    if (memo === null) {
        memo = verify(r);
    }
    return memo;
}

// $edge_status: '' when the token verifies, else the status to answer; $edge_reason: why.
function status(r) {
    const v = verdict(r);
    return v.status ? String(v.status) : '';
}

function reason(r) {
    return verdict(r).reason || '';
}

// $edge_video and $edge_audience: the revoked/ files nginx.conf looks for ('{id}.all' refuses every
// token of a deleted video, '{id}.pub' strangers' tokens of a private one).
function videoId(r) {
    const v = verdict(r);
    return v.status ? '' : v.t.id;
}

function audience(r) {
    const v = verdict(r);
    return v.status ? '' : v.t.audience;
}

const REVOCATION = /^\/_edge\/videos\/([1-9][0-9]{0,18})\/revocation$/;

function digest(text) {
    return crypto.createHash('sha256').update(text).digest('base64url');
}

// PUT /_edge/videos/{id}/revocation, body 'all' (deleted: every token refused), 'pub' (private:
// strangers' tokens refused) or 'none' (public again). Authenticated by the edge's secret, compared
// in constant time (as digests, so the length says nothing either). Idempotent: the API's worker
// pushes a video's current state, and pushes it again after a failure.
function revoke(r) {
    const m = REVOCATION.exec(r.variables.request_uri);
    const secret = process.env.VIDSTORE_EDGE_SECRET || '';
    if (!secret || !same(digest(r.headersIn['X-Edge-Secret'] || ''), digest(secret))) {
        r.return(401, 'the edge secret is missing or wrong\n');
        return;
    }
    if (r.method !== 'PUT') {
        r.headersOut['Allow'] = 'PUT';
        r.return(405, 'PUT a revocation\n');
        return;
    }
    const body = (r.requestText || '').trim();
    if (!m || ['all', 'pub', 'none'].indexOf(body) < 0) {
        r.return(400, "PUT /_edge/videos/{id}/revocation with 'all', 'pub' or 'none'\n");
        return;
    }
    const base = `${r.variables.edge_revoked}/${m[1]}`;
    try {
        if (body === 'none') {
            unlink(`${base}.pub`);
        } else {
            fs.writeFileSync(`${base}.${body}.tmp`, body, { mode: 0o644 });
            fs.renameSync(`${base}.${body}.tmp`, `${base}.${body}`); // nginx never sees half a file
        }
    } catch (e) {
        r.error(`revocation of video ${m[1]} not written: ${e}`);
        r.return(500, 'revocation not written\n'); // the worker retries
        return;
    }
    r.return(204);
}

function unlink(path) {
    try {
        fs.unlinkSync(path);
    } catch (e) {
        if (e.code !== 'ENOENT') {
            throw e;
        }
    }
}

// The bucket key the file is cached under and fetched from: the path without the token, so every
// viewer of a video shares one cached copy.
function objectKey(r) {
    const v = verdict(r);
    return v.status ? '' : `videos/${v.t.id}/${v.t.file}`;
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

export default { status, reason, videoId, audience, revoke, objectKey, storageHost, storagePath, amzDate, storageAuthorization };
