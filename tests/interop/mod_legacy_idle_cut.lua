-- mod_legacy_idle_cut: make Prosody end idle c2s connections the way
-- legacy servers (and the load balancers in front of them) do, for
-- stanzaguard's interop tests.  Not for production.
--
-- A c2s connection from which nothing was read for legacy_idle_cut_after
-- seconds gets
--
--   <stream:error><connection-timeout
--     xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>
--
-- and its TCP connection is closed at once: no </stream:stream>, no wait
-- for the client's close tag, anything the client sends meanwhile is lost.
-- (Prosody's own session:close() would do the proper close handshake of
-- RFC 6120 section 4.4; this bypasses it.)  A connection that has not
-- opened its stream yet is closed without the error.  Idle means nothing
-- *read*: what the server sends does not keep a connection alive, as with
-- Openfire and ejabberd.
--
--   modules_enabled = { ..., "legacy_idle_cut" }
--   legacy_idle_cut_after = 10   -- seconds; default 60
--
-- Global module: sessions have no host until their stream header, so they
-- are picked up by a filter hook when they are created.

module:set_global();

local filters = require "util.filters";
local gettime = require "util.time".now;

local after = module:get_option_number("legacy_idle_cut_after", 60);

local connection_timeout = "<stream:error><connection-timeout "
	.. "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>";

-- Write the stream error (unless no stream is open) and close TCP now.
local function cut(session)
	local conn = session.conn;
	local idle = gettime() - session.legacy_idle_last;

	session.log("info", "legacy_idle_cut: nothing read for %gs, "
		.. "cutting the connection without a close tag", idle);
	if not session.notopen then
		-- Raw bytes: no stanza filters, no </stream:stream> after it.
		(session.rawsend or session.send)(connection_timeout);
	end
	-- Whatever Prosody tries to write from now on is dropped, as
	-- session_close() does after its close tag.
	function session.send() return false; end
	function session.rawsend() return false; end
	-- Flushes what is buffered (the error), then closes; ondisconnect
	-- destroys the session.
	conn:close();
end

-- Due at legacy_idle_last + after: cut, or look again when next due.
local function check(session)
	if session.destroyed or not session.conn then
		return; -- gone: no more checks
	end
	local due = session.legacy_idle_last + after - gettime();
	if due > 0 then
		return due;
	end
	cut(session);
end

local function on_bytes_in(data, session)
	session.legacy_idle_last = gettime();
	return data;
end

local function filter_hook(session)
	if session.type ~= "c2s_unauthed" then
		return; -- s2s and components are left alone
	end
	session.legacy_idle_last = gettime();
	filters.add_filter(session, "bytes/in", on_bytes_in);
	module:add_timer(after, function ()
		return check(session);
	end);
end

function module.load()
	filters.add_filter_hook(filter_hook);
	module:log("info", "cutting c2s connections idle for %gs", after);
end

function module.unload()
	filters.remove_filter_hook(filter_hook);
end
