/// SwiftPM links an executable target with `main` aliased to `FuzzMeter_main`; built with
/// -parse-as-library the module has no main of its own, so this one hands the process to
/// libFuzzer's driver (LLVMFuzzerRunDriver, from -sanitize=fuzzer) with the fuzz callback.
// swift-format-ignore: AlwaysUseLowerCamelCase
// libFuzzer's C name.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("FuzzMeter_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return fuzzMeter(UnsafeRawPointer(data), size)
    }
}
