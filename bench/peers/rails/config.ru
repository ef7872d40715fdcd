# Benchmark peer: real Rails Action Cable 6.1 (Debian ruby-actioncable) on Puma, no Rails app.
# Clients subscribe to {"channel":"BenchChannel"} (stream "bench"); POST /broadcast broadcasts
# the JSON body to it. No authentication (Cableway verifies a JWT on every connect; this does not).
# Run: puma -b tcp://127.0.0.1:<port> -t 5:5 config.ru            (pinned mode, one process, async adapter)
#      CABLE_ADAPTER=redis REDIS_URL=redis://127.0.0.1:<p>/0 puma -w 2 ...   (whole-box mode)
require "logger"
require "json"
require "securerandom"
require "action_cable"

module ApplicationCable
  class Connection < ActionCable::Connection::Base
    identified_by :uid
    def connect
      self.uid = SecureRandom.hex(4)
    end
  end

  class Channel < ActionCable::Channel::Base; end
end

class BenchChannel < ApplicationCable::Channel
  def subscribed
    stream_from "bench"
  end
end

ActionCable.server.config.cable = { "adapter" => ENV.fetch("CABLE_ADAPTER", "async"), "url" => ENV["REDIS_URL"] }.compact
ActionCable.server.config.connection_class = -> { ApplicationCable::Connection }
ActionCable.server.config.disable_request_forgery_protection = true
ActionCable.server.config.logger = Logger.new($stdout).tap { |l| l.level = Logger::WARN }
ActionCable.server.config.worker_pool_size = Integer(ENV.fetch("AC_WORKERS", "4"))

publish = lambda do |env|
  body = Rack::Request.new(env).body.read
  ActionCable.server.broadcast("bench", JSON.parse(body))
  [200, { "content-type" => "application/json" }, ["{\"ok\":true}"]]
end

map("/cable") { run ActionCable.server }
map("/broadcast") { run publish }
