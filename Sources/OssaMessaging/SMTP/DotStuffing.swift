import NIOCore

/// The DATA payload (RFC 5321 §4.5.2): every line ends in CRLF, a line starting with "." gets a second ".", and the
/// terminating `.` line follows — so no text, not even a body line that is a lone ".", can end the message early.
enum DotStuffing {
    static func payload(_ message: String, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        let bytes = Array(message.utf8)
        var buffer = allocator.buffer(capacity: bytes.count + bytes.count / 16 + 5)
        var lineStart = true
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == 0x0D || byte == 0x0A {
                // CRLF, lone CR and lone LF all become one CRLF (a bare LF is refused by strict servers).
                if byte == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
                buffer.writeBytes([0x0D, 0x0A])
                lineStart = true
            } else {
                if lineStart, byte == UInt8(ascii: ".") { buffer.writeInteger(UInt8(ascii: ".")) }
                buffer.writeInteger(byte)
                lineStart = false
            }
            index += 1
        }
        if !lineStart || bytes.isEmpty { buffer.writeBytes([0x0D, 0x0A]) }
        buffer.writeBytes(Array(".\r\n".utf8))
        return buffer
    }
}
