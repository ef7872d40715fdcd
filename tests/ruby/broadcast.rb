# Broadcasts as an unchanged Rails app does: Rails' own ActionCable (Debian's
# ruby-actioncable 6.1) with its Redis adapter, `ActionCable.server.broadcast(stream, message)`.
#
#   REDIS_URL=redis://127.0.0.1:6379 CHANNEL_PREFIX=app_test ruby tests/ruby/broadcast.rb < broadcasts
#
# stdin: one broadcast a line, the JSON array [stream, message]; the message is parsed into a
# Ruby hash first, so Rails encodes it itself (ActiveSupport::JSON), as it does in an app.
# INTERVAL_MS: a pause after each broadcast (default none). Prints `broadcast <n>` when done. Run by tests/tests/rails_broadcasts.rs.
require "active_support/all"
require "action_cable"
require "redis"
require "json"

# What Rails' engine does with config/cable.yml (`adapter: redis`, `url`, `channel_prefix`).
ActionCable.server.config.cable = { adapter: "redis", url: ENV.fetch("REDIS_URL"), channel_prefix: ENV["CHANNEL_PREFIX"] }.compact
ActionCable.server.config.logger = Logger.new($stderr, level: Logger::WARN)

interval = ENV.fetch("INTERVAL_MS", "0").to_f / 1000
n = 0
$stdin.each_line do |line|
  next if line.strip.empty?
  stream, message = JSON.parse(line)
  ActionCable.server.broadcast(stream, message.deep_symbolize_keys)
  n += 1
  sleep interval if interval > 0
end
puts "broadcast #{n}"
