-- mod_proxy_header: a c2s connection must begin with a PROXY protocol
-- header (v1 or v2, haproxy.org/download/2.6/doc/proxy-protocol.txt), for
-- stanzaguard's interop tests of send-proxy.  Not for production: it
-- trusts every sender.  (Debian 12's prosody-modules has no mod_net_proxy.)
--
-- The header is taken off the first bytes of every c2s connection; the
-- session's ip becomes the client address it names, and one line is logged
-- on the session:
--
--   proxy_header: v1 TCP4 client 127.0.0.2:40000 server 127.0.0.1:5222
--     (connection from 127.0.0.1:41000)
--
-- A connection whose first bytes are no valid header is logged
-- ("proxy_header: refused: WHY") and closed.
--
--   modules_enabled = { ..., "proxy_header" }
--
-- Global module: sessions have no host until their stream header, so they
-- are picked up by a filter hook when they are created.

module:set_global();

local filters = require "util.filters";

local V2_SIG = "\r\n\r\n\0\r\nQUIT\n";
local V1_MAX = 107;

-- header, rest: a complete header; false: need more; nil, why: invalid.
local function parse_v1(buf)
	local eol = buf:find("\r\n", 1, true);
	if not eol then
		if #buf >= V1_MAX then
			return nil, "v1 line longer than 107 bytes";
		end
		return false;
	end
	if eol + 1 > V1_MAX then
		return nil, "v1 line longer than 107 bytes";
	end
	local line = buf:sub(1, eol - 1);
	local proto, src, dst, sport, dport = line:match(
		"^PROXY (TCP[46]) (%S+) (%S+) (%d+) (%d+)$");
	if not proto then
		return nil, ("bad v1 line %q"):format(line);
	end
	return { version = "v1", proto = proto, src = src, dst = dst,
		sport = tonumber(sport), dport = tonumber(dport) },
		buf:sub(eol + 2);
end

local function ipv6(b, i)
	local groups = {};
	for g = 0, 7 do
		groups[#groups + 1] = ("%x"):format(
			b:byte(i + 2 * g) * 256 + b:byte(i + 2 * g + 1));
	end
	return table.concat(groups, ":");
end

local function parse_v2(buf)
	if #buf < 16 then
		return false;
	end
	local vc, fam = buf:byte(13), buf:byte(14);
	local len = buf:byte(15) * 256 + buf:byte(16);
	if #buf < 16 + len then
		return false;
	end
	local a, rest = buf:sub(17, 16 + len), buf:sub(17 + len);
	if vc ~= 0x21 then
		return nil, ("v2 version/command byte 0x%02x, want 0x21 (PROXY)")
			:format(vc);
	end
	local h = { version = "v2" };
	if fam == 0x11 and len >= 12 then
		h.proto = "TCP4";
		h.src = ("%d.%d.%d.%d"):format(a:byte(1, 4));
		h.dst = ("%d.%d.%d.%d"):format(a:byte(5, 8));
		h.sport = a:byte(9) * 256 + a:byte(10);
		h.dport = a:byte(11) * 256 + a:byte(12);
	elseif fam == 0x21 and len >= 36 then
		h.proto = "TCP6";
		h.src, h.dst = ipv6(a, 1), ipv6(a, 17);
		h.sport = a:byte(33) * 256 + a:byte(34);
		h.dport = a:byte(35) * 256 + a:byte(36);
	else
		return nil, ("v2 family byte 0x%02x with %d address bytes")
			:format(fam, len);
	end
	return h, rest;
end

-- As parse_v1, for whichever version buf begins with.
local function parse(buf)
	if #buf < 6 and buf == ("PROXY "):sub(1, #buf) or
	    #buf < 12 and buf == V2_SIG:sub(1, #buf) then
		return false; -- a prefix of either: wait
	end
	if buf:sub(1, 6) == "PROXY " then
		return parse_v1(buf);
	end
	if buf:sub(1, 12) == V2_SIG then
		return parse_v2(buf);
	end
	return nil, ("no PROXY header: the connection begins %q")
		:format(buf:sub(1, 16));
end

local function filter_hook(session)
	if session.type ~= "c2s_unauthed" then
		return;
	end
	local buf, done = "", false;
	filters.add_filter(session, "bytes/in", function (data)
		if done then
			return data;
		end
		buf = buf .. data;
		local h, rest = parse(buf);
		if h == false then
			return nil;
		end
		if not h then
			done = true;
			session.log("warn", "proxy_header: refused: %s", rest);
			session.conn:close();
			return nil;
		end
		done = true;
		buf = nil;
		session.log("info", "proxy_header: %s %s client %s:%d server "
			.. "%s:%d (connection from %s)", h.version, h.proto, h.src,
			h.sport, h.dst, h.dport, tostring(session.ip));
		session.ip = h.src;
		if rest == "" then
			return nil;
		end
		return rest;
	end, 1000);
end

function module.load()
	filters.add_filter_hook(filter_hook);
end

function module.unload()
	filters.remove_filter_hook(filter_hook);
end
