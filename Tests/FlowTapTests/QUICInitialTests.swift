import XCTest

@testable import FlowTapBase
@testable import FlowTapDecode
@testable import FlowTapInspect
@testable import FlowTapMeter

/// QUIC Initials: the keys against RFC 9001's and RFC 9369's published vectors, and real
/// Initials of aioquic 1.7.2 (client and server, v1 and v2, a hello over three Initials) whose
/// server names and ALPN tshark 4.0 read, opened and put together in every order.
final class QUICInitialTests: XCTestCase {
    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i ..< j], radix: 16)!)
            i = j
        }
        return out
    }

    func testInitialKeysAreThePublishedVectors() {
        let dcid = Self.hex("8394c8f03e515708")
        // RFC 9001 Appendix A.1 and RFC 9369 Appendix A.1 (client key, IV, header protection).
        let vectors: [(UInt32, String, String, String)] = [
            (
                QUICInitial.version1, "1f369613dd76d5467730efcbe3b1a22d", "fa044b2f42a3fd3b46fb255c",
                "9f50449e04a0e810283a1e9933adedd2"
            ),
            (
                QUICInitial.version2, "8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f",
                "45b95e15235d6f45a6b19cbcb0294ba9"
            )
        ]
        for (version, key, iv, hp) in vectors {
            let keys = dcid.withUnsafeBytes { QUICInitial.keys($0, version: version) }
            XCTAssertEqual(keys.key.withUnsafeBytes { [UInt8]($0) }, Self.hex(key), "key, version \(version)")
            XCTAssertEqual(keys.iv, Self.hex(iv), "iv, version \(version)")
            XCTAssertEqual(keys.hp.withUnsafeBytes { [UInt8]($0) }, Self.hex(hp), "hp, version \(version)")
        }
    }

    static let frames: [String: String] = [
        "v1": """
        AAAAAAAAAAAAAAAACABFAATM5QVAAEARUxl/AAABfwAAAYspEVsEuALMxwAAAAEI9srf95+0PLUIXK+UqJylMMsAQfO+Zeo84ySo
        rDxQn/njyNQ61i+y93hhOR16sPAgKKn0vIu0BWqyryFTc9tszMJybyLN5En3VRElGUmeGAL+TtSVrTY1buS99CfvkvX3UEzICmqO
        PkUTjG6cds/J3e/rBc3FACGoi3cqdoDBpTw3dcYPA7PzkNX4v4P/zmcyVyaxF2RkL4Gi9YkyPV4hQORcZxqHcF3C4b54ouGUwcQC
        9Z3pLnAqFvEaWkUgjK6HqtFpHGtSGlAZ1wN8TOfjZ9ytDu+XB4X8FXd26m1KWSL5ohTfOJ9ylYoAQjVhFZoEnKn+S5wgCf7PzyXh
        MthwWKESHo2mSgnFe4/jK2btXdKKmUJal4nirYFlPm1iTNsEGcSiPSOM7ObeINxLCSSClAj3wlYnT/bG7fW2h8bB+mqvxJ6c9Dal
        XGz773ImGYg7eTw100kzd/FTPTFQoZfFIo26izLe64ooe37v77V70qLI7WKHHxe7wpGFOsDFKPF3y7i+q5Tne/mD4nrjKIXgeioJ
        Rb7+9OlTJMgCAkQ+4nyUEG7unuzGQJeTgn9WHyteHiE2Fk8u1XpxwzKbe02ExqCT9CNf46qb7ZFhbPnJgJ8mNI4+HFNQKcClOUn+
        tUUEYFEIJ3Q9GUcsgCh4hlZPRiIR+GrTdEYO42U4lRO/siCswL3H9zSRAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        """,
        "v2": """
        AAAAAAAAAAAAAAAACABFAATM5UFAAEARUt1/AAABfwAAAYG3EVsEuALM2mszQ88IFF26ANnXetEIBp/GpGcFKw8AQfdlMUEeRi1Q
        Fy7vqPIMLovkBx+5nlnO1lxjcdDdMMmSEghsTTmfdub3JCkZyZv3sj6ywL4GLWWdM8ZUvguDrTh84OMmqIZ7xlMY5wuafBqxE1yd
        wDeAPZ/MeYuXGiGqn+We5YKzSUpMe35lcDCRteNctELMtCCg1/fxC1Uk/kYGCcHCnMeOZ+FXYqmI+q7r2YizZEp0J9ZHtKgFP5/e
        DYj+G6iE7bDXHKF1Ykbm5WYZnjzuNNwhhNfp6+3CBX1G1CCmiqOCj6ckZm+a3OtnfTLPNrzkal2jk5y+a4JwsedHLkRrOHfCRtYj
        JzfJ5smmRiqYRMzqlxPKiHagVlmsKXyxZgb1Yl5Xhc0sdK32PQHBlFu1g/Z563IzDiEQo8SgaKiQ1l/Sz7O4Qzd0kN22O9w1kc7Y
        6h3VWn0l5ivXkayZpJTYcFKn7iivzy0j/20rN2qZevmBH02mEgpZyE3QGfPLGAr3fYFQ/pjignG3aQ8H19w8VUPZ1YMRFyA/iDXu
        xZ71as2nGjglO42cGSRPs4rab3yG97VNQJHflgiJgaUOV5pJ3HC8X301594e3i1m8rPuWuwbG6DPs7w8LXIaeB7mWLbqXQLYASFK
        qszCnYgoIVgunCL9O4TYEGu3G7+G+KppbCycyLhZLV+jkbJNut3OBKbl7FMm+gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        """,
        "split0": """
        AAAAAAAAAAAAAAAACABFAATM5X9AAEARUp9/AAABfwAAAdu0EVsEuALMwgAAAAEINb+hBMmRqSoI/SHof754OSoARJa0vfOpcBRg
        BJ2lhCYPlQIJg11FxzpuJ1wV2oK1zp9Ni99xAUmV/rniMJ/Tn54OL8CAZFghRUZOAZvQ+v76Nk70JyUaot1VlOQ6HLyyN1Q2quVR
        NyPee+gZKufCmqlZ2RMsUCoJUhIgh/d/dYdPfCO6t3K3ehrIgkDG/pEBTEu0IkPraUvn7xuF3FsAyXCp5FkvJMzm+x+y9Y1mhDqp
        WlmL5TNCv+pla3aDnQJhqXKv9jPKL156gfGSWc5aBpvufMDI8+0zCeUIDIk9djbuRxNDgWco0ZmjS9AcXF78GMWlGhMkb9D+XXRT
        ZiNHiFf8HEbs7xuJf4sdf/RhfOpVV+RZrtqhBhVlA3L4AQ+0z3RqPaKiAQgC0yNz/i/qp4bONua7GUHe0ixJ5tcAPwWaHlEdU6mm
        DvQV91CAqJ43He5e6npaIWIFToxxDZISsR3xmYiKxv+3rCyo1OlVz7RvYobyyg6BMDlhNlCJuOZtUnyn+9Ck4VorrZVk2+9nW2H7
        2nzX7aZvXjeNkb2VUVBkDCAneuicUlH2syViJInBg0z7qarRylCY5IPat9ohxypXlFSWJ+atyFdUJICTlvBzl1PiJkL3K40JkHVh
        O4kOFsqSF7F9BXHGfhcLYsD3iap1I/uxArHIUSI6Q+mehVm1BHgSyHPGCZQlcmJB2WLS9zyyr32cp2ztF6qL9kWhEHCv/dhi9e1J
        xOuJ3SnnIkxU5V8rwqClsw5EY4ixAraOZpy69Lq0vup7jlnQFjzu52ber+a+re2Grey1ZJrpCsCW1RSo0KEK6Zjd8CgZiIkYzLal
        /XRqw8KvBxpE9SVoUy8V16ia7pFn6URa02/ggskSmaFSL7zKOON9XKZXHxHW/7h8WiZwvpUas1XyMo8f9EV4z9kNWfQvZyZgsIcS
        H7wAssm8Lz7E20wRcpxOFtP2p2xRpVIMfscxDWUI6dmzqla/Xkbx6mVsjxBRV39d/73BmZKwMSo/Xu6v6CF/Ap44sEDSyRfw2mho
        y6uM3zotfT85bUatBg81t3uy2WY/Y/1W70S4oteO6ZaLJE+/40mleybhTRGQW2MPJ5eUKB/RxSi+O6i41r1V/PZxZ0LvwaQRrEI+
        272V5XVsj7D7kWzaoWQiXwhWkbaX0jRAN8L9p3pNSjaZ3ghqs6Orv4qeMaSwzIuNIrR92izxNJ8pWCIh5nfA6zDGYGWB+ELV35b1
        fJE5PIkm/6/6i05SmGbidG1HLb9CLGSM+lP4yq2Xc/ymz6SgWadliAkr6BzW9cV3i7zXUrfIF8CGGjCq9e/Dys6wJfhnqUSWtEvJ
        ahZvLwMYmf+molxfJ83i75aXpz3K50JGFG6UYC8AZqYMDMZAuvLNYrhv33s927O3B7c8C12VrDfBgzzAN3hY/KWwu+GSElVT3PTt
        Tt8GexGiwyd2fc7scFnJQkEvUe8N15MsyorxMBaskDCqaNLDOObLHhHzVNi7cRWKsxiwDbL7vVMVHS1qOB6CVbl6wVSGbd/qctQV
        H8or3d+BPG6IfaZCEPUbv6TPeJGfhhJaB4rSFyfMtWLg+8BUtdWVmekd
        """,
        "split1": """
        AAAAAAAAAAAAAAAACABFAATM5YBAAEARUp5/AAABfwAAAdu0EVsEuALMzQAAAAEINb+hBMmRqSoI/SHof754OSoARJYCief0ntBf
        S2mepCXn+8Y5rf4H1CksN2CCjqtvlDIe44RoD3btUYwZSl4mECqZL/5c+kuRXcQjdQIZgk6SyMwlTH+xKlvpPoRuohi2GHDXojhU
        HPKMhErDPWQ3LQ2Fs8sv67S5dXdDpLFsi8h2vDGSP++jrcDXpVUVetJ2JMTgevmMLFWfpD4Hz20aSOcfcuymn4Tg5HCsby1AaEka
        J2eo4dp2Z8SbQ/1NCnLyE6VYDUkcOxoOumHRmtbQS5QmT/sCG6fSLv1YNkKZKVLn6mEuD4A2Epc66o8Jo2B/c+Dxnlm0x1udM8Uf
        jpVA3Y6LeX+8BgtAr/2BEGJp/jTjgfBUAA7BprGpvCPNL9QirIKv8lJic9hYcFS5aD7QyPffRqnKJblDieiIA57dKtiscmkNxvYv
        UZsAcEJEj75RofG0yzLp8XdqkCv1g6GjRNiJyAISpL5pWL+tIZinQX5pGD6KUbbu7XfxSl+8nm4Mrbs5eV/f3jjFQ6nGZQzPeqvD
        4lkrVOtwGhF3hWT+Q45LdfPU2cxtxHTQ/XnmVBB2sy5mVzIa6yxupI6VYa1jExkvxDylw0Ws7aicJQ3tPFIXWGaA/KG8yKNg568z
        gP2RRK/xgvSZNaKFAX338rmysz4qllNIGFtpB7q2/tqME72GrVLEfDG1cdIYKj9k+j2QZv4Dk48Dw7FV6BoC8RZyl1bkWER4CTPl
        KbYqluwTfS/OHYW5bho4RChSw7sKRVjE/02dyjuK5caRLIkfWn/Ux2BnIQLw3LPEdOZ/TioPbD0EELkR5RkJisQ/aXxkzVShAP9F
        qgjk1qUp5Sl0nTJipSL/JzpHOuJ0LNkUQtCi9dc/BxtNO89KPDF6tL3lw0Jui4U/LathztTLrwWgAsdg91d8Lsy/DHk+bDXWb77e
        MZ8kemJ88GRURuxD+HHFwZk8F8cdNN7kjL86fZ0MjKCECkmgxgxowAMUCfIsZ2dVSfQTzODyq6bC75Q/iDCQFpd0eBr3ZwQWx9jz
        0vLX6/NK1ZUMnUF/UuBBdof5CCc2VHEN0uItvPpAgK/eOcGmuHNHmEJt8Vy4SgvGXZMCN7rJh6s3idNaNLTY/9LQhO5+gJr2SdSy
        ReP2rYDA+40P74Y5uCPm1FmYVagukpIeq/otnCKzuwXMMcYVwz/sZv2G46z3yyyiJxfmTAFKXKam0VRuTFeDAuUrUyHpPKOovGBN
        TAW+3oxkdLlVfsYG9mCre1hGApKpJhGAjfV12eaTKVUThoEaqB1JY12wbdQcsD2Dbl7FIUl5Gb5jOunmJocOhKBP27zs8cFoB04A
        XZkrPofe9i6IGbBmdCoz5VICBY5EGk36DyQ0zUCU6kfSBtrE9y7nV7T7faVuobVlPOk/eWoY+qOq8W+iB8yRi/pooOkPGGunTVTI
        0KtRf+XnPAb53TKu6ufLYS8SODDcks1roFKZVMRBI21dOBPoKpodIr8Wl2+/tDV5Jti/vfKLi5Psnmzdvr8vZRtPX9pwiBhiVuh8
        41rs+XqfstdRF6bDosXjY45oFF7C03KKjMPPN2kSynK/mw/gGxEOexcp
        """,
        "split2": """
        AAAAAAAAAAAAAAAACABFAATM5YFAAEARUp1/AAABfwAAAdu0EVsEuALMyQAAAAEINb+hBMmRqSoI/SHof754OSoAQn0Xw0ahiAaj
        hx5j7powpb5IkP1d915K7/n3MKPCqp/vTO9onQjH5benlf8s/mDxr0pwFw8ABPDjL1fQDcBrkc5jzG5BrQbz83Ig7t6NGG1tQDGz
        6VHuQ4pWkIImnkOyO4DCFN9QOFWijYKbMzC+u/qDjnr21xWTvBPHsiwzVCVNN2CYMmeVor1HrD8TwXZQuwOQIfm8ZMsvo1q50x/s
        oA5onZIFw+IXphk0twls0eA5wD1eCjCjTf9wmDLW5sTiHX5MS/Q9UY8jwE3IxNTExQplMio+61Xo3af/tfzTX6IQ1xkuXoRdMsew
        ntOrhrGXD/z2dQ5QOkRkmP6TV/Y+/wA7h518dKCb+Q/FXtTs3ZlwxNgCbwBOIEfSdhivtQwnzMAJ05Pipy/JYpnTJ9hwp9rXG3kw
        0M7tXK9ghU/RiEleRboVOibG4fQ3IWeMFT7ahzABOe6kgYucDvAFkD5lIeIqM3bDM6vOoDKIwDHNri6MyzQQQ/F01tlXlXyICvSp
        TwY0vdKUfkhMimBlxeGVIjVMvTLuJYj13vQtgNWBRX7VyJOTPWTdfZ84gAbtRX9IZ3IhG4nuhHss20542Qhwo7ZSS/W9F9uDWv55
        XXufEBbBoyZgkHQP5vZ9OpeY4k8Xmrh400jIYz8IrOsPB6GBQZ8yj61tlCWYCakZyCNbIDO/mrzpFLH7sk99jONu4rFQlXI3XgeO
        RkamUNayDJ4R/mv4KFedHbeCYNCUfJtWw0TRAK8HXqDSY2AL6Z+R55WK6M6TJHMCR/y14RYkejw5we6OZV9ejRvKqKYbGCwqweuj
        UZyf4UIuZyXMTIRn1Z5cBa+ix7pou8OYyRus2hk1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        """,
        "serverACK": """
        AAAAAAAAAAAAAAAACABFAABO5YJAAEARVxp/AAABfwAAARFb27QAOv5NzwAAAAEI/SHof754OSoIijru3r/w6lYAQBgUsCq8pMXE
        ++5cP8PohnSPVpe8IChHCEE=
        """,
        "serverFlight": """
        AAAAAAAAAAAAAAAACABFAATM5YRAAEARUpp/AAABfwAAARFb27QEuALMzgAAAAEI/SHof754OSoIijru3r/w6lYAQJfrKr5XsPAK
        AyE24RrfP4IPbUYTIvB3zluU86rzeNWUL46Qlgfxp5dUFCu6t6Hh55D3aS1k3KTPeShZlBr66FYgwvElG8w0W24oX6c1Km2aPq7z
        V3vlf0MFG3lfH8mFRBgBLywJ6OPchcS25hb2Qv8eUbHtDqToa7xvFVKY3GFX57fnZo0IdXnmj8Ug6BJI72juPEmP26Se7gAAAAEI
        /SHof754OSoIijru3r/w6lZCoQmDaY8RkrIESPpJWjtn4CFbtE36RtMjStGAtxD7Z74A40A2jW27/IDQkPlFzhcwp61Kht1ezVJN
        pLdb9uN7MJCSaCjFBlvLqf89Kkst3W0U1+oHQLS0UWpnXmShyxA18Fd0agm74emeQZ+iLyfpS6ZK5I4zAuT2t4cMLFHEDXXrE6Xp
        vLYtyDj4vm2WCxQjInMEyku2yPhMGZSXRyzAZX3gSN3sXC2lEjNbxLyoqA1Jc5cN5ooGmoLa5+eZ47kwaR5DYT6ugb00cEfkNi2N
        LDCYpuhAOSp1k0vt6PZxrsT5psEDwc1Xp015K4GL+u3SSsOsderhJP6egGkG2JUVdeMYEgXw7w7RvUw33/Lz/oKkxRv277Rmj8Sn
        dDD3TapiHY4I+5uIC85yUCu34fvQBFqGdhbGR2BySbb33tNsYA5EmAKZDtHjpOSfHUsA7hdExnUEqkpfEMemy0PW9yIcIZJcjRrQ
        uGhVb7TQ84wTjcayTBnnuBrpXm8WOiB9+mQWBBsQaa6uZTkVMi+rPCZh01GxDZaWA70V9rHzil1u+pqDVtqzmCD7demgjxjkbdIz
        G6oILB1Wi/Lg7LsXQTsuVgxtjTZf38II8T2PfRqg7r7rFH21yPM6VMGboNR6HaKG2SXTLazapl053cQQFLIcD0T41qISzMnFF/o0
        INL5Mfw8Qn0ewiIcZPjA9IdN8V8t9/itno9PKoLgXxBjKJ/2Zer/rKsdxYjQfpsA3G2JBgKes7b2off+tfTtGHJ4SiutfeIcQ/aF
        F7FjaJtTe2qGjWqFAVhfXltj6ETsB7+fLF4XgTfEioS95UCoVYAdYC+oFA0B5Iy/TaXEVsVUpZh2b+duoqfpy8BqlA6AJt4+zGU3
        9aD5LBdCT3EO3KZ5jGqwz4MAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        """,
        "rekeyed1": """
        AAAAAAAAAAAAAAAACABFAATM5YBAAEARUp5/AAABfwAAAdu0EVsEuBLYzQAAAAEI8IIzkCe/QngI/SHof754OSoARJYCief0ntBf
        S2mepCXn+8Y5rf4H1CksN2CCjqtvlDIe44RoD3btUYwZSl4mECqZL/5c+kuRXcQjdQIZgk6SyMwlTH+xKlvpPoRuohi2GHDXojhU
        HPKMhErDPWQ3LQ2Fs8sv67S5dXdDpLFsi8h2vDGSP++jrcDXpVUVetJ2JMTgevmMLFWfpD4Hz20aSOcfcuymn4Tg5HCsby1AaEka
        J2eo4dp2Z8SbQ/1NCnLyE6VYDUkcOxoOumHRmtbQS5QmT/sCG6fSLv1YNkKZKVLn6mEuD4A2Epc66o8Jo2B/c+Dxnlm0x1udM8Uf
        jpVA3Y6LeX+8BgtAr/2BEGJp/jTjgfBUAA7BprGpvCPNL9QirIKv8lJic9hYcFS5aD7QyPffRqnKJblDieiIA57dKtiscmkNxvYv
        UZsAcEJEj75RofG0yzLp8XdqkCv1g6GjRNiJyAISpL5pWL+tIZinQX5pGD6KUbbu7XfxSl+8nm4Mrbs5eV/f3jjFQ6nGZQzPeqvD
        4lkrVOtwGhF3hWT+Q45LdfPU2cxtxHTQ/XnmVBB2sy5mVzIa6yxupI6VYa1jExkvxDylw0Ws7aicJQ3tPFIXWGaA/KG8yKNg568z
        gP2RRK/xgvSZNaKFAX338rmysz4qllNIGFtpB7q2/tqME72GrVLEfDG1cdIYKj9k+j2QZv4Dk48Dw7FV6BoC8RZyl1bkWER4CTPl
        KbYqluwTfS/OHYW5bho4RChSw7sKRVjE/02dyjuK5caRLIkfWn/Ux2BnIQLw3LPEdOZ/TioPbD0EELkR5RkJisQ/aXxkzVShAP9F
        qgjk1qUp5Sl0nTJipSL/JzpHOuJ0LNkUQtCi9dc/BxtNO89KPDF6tL3lw0Jui4U/LathztTLrwWgAsdg91d8Lsy/DHk+bDXWb77e
        MZ8kemJ88GRURuxD+HHFwZk8F8cdNN7kjL86fZ0MjKCECkmgxgxowAMUCfIsZ2dVSfQTzODyq6bC75Q/iDCQFpd0eBr3ZwQWx9jz
        0vLX6/NK1ZUMnUF/UuBBdof5CCc2VHEN0uItvPpAgK/eOcGmuHNHmEJt8Vy4SgvGXZMCN7rJh6s3idNaNLTY/9LQhO5+gJr2SdSy
        ReP2rYDA+40P74Y5uCPm1FmYVagukpIeq/otnCKzuwXMMcYVwz/sZv2G46z3yyyiJxfmTAFKXKam0VRuTFeDAuUrUyHpPKOovGBN
        TAW+3oxkdLlVfsYG9mCre1hGApKpJhGAjfV12eaTKVUThoEaqB1JY12wbdQcsD2Dbl7FIUl5Gb5jOunmJocOhKBP27zs8cFoB04A
        XZkrPofe9i6IGbBmdCoz5VICBY5EGk36DyQ0zUCU6kfSBtrE9y7nV7T7faVuobVlPOk/eWoY+qOq8W+iB8yRi/pooOkPGGunTVTI
        0KtRf+XnPAb53TKu6ufLYS8SODDcks1roFKZVMRBI21dOBPoKpodIr8Wl2+/tDV5Jti/vfKLi5Psnmzdvr8vZRtPX9pwiBhiVuh8
        41rs+XqfstdRF6bDosXjY45oFF7C03KKjMMLQi9CYm2s1ft5u6mJig44
        """,
        "rekeyed2": """
        AAAAAAAAAAAAAAAACABFAATM5YFAAEARUp1/AAABfwAAAdu0EVsEuGiFyQAAAAEI8IIzkCe/QngI/SHof754OSoAQn0Xw0ahiAaj
        hx5j7powpb5IkP1d915K7/n3MKPCqp/vTO9onQjH5benlf8s/mDxr0pwFw8ABPDjL1fQDcBrkc5jzG5BrQbz83Ig7t6NGG1tQDGz
        6VHuQ4pWkIImnkOyO4DCFN9QOFWijYKbMzC+u/qDjnr21xWTvBPHsiwzVCVNN2CYMmeVor1HrD8TwXZQuwOQIfm8ZMsvo1q50x/s
        oA5onZIFw+IXphk0twls0eA5wD1eCjCjTf9wmDLW5sTiHX5MS/Q9UY8jwE3IxNTExQplMio+61Xo3af/tfzTX6IQ1xkuXoRdMsew
        ntOrhrGXD/z2dQ5QOkRkmP6TV/Y+/wA7h518dKCb+Q/FXtTs3ZlwxNgCbwBOIEfSdhivtQwnzMAJ05Pipy/JYpnTJ9hwp9rXG3kw
        0M7tXK9ghU/RiEleRboVOibG4fQ3IWeMFT7ahzABOe6kgYucDvAFkD5lIeIqM3bDM6vOoDKIwDHNri6MyzQQQ/F01tlXlXyICvSp
        TwY0vdKUfkhMimBlxeGVIjVMvTLuJYj13vQtgNWBRX7VyJOTPWTdfZ84gAbtRX9IZ3IhG4nuhHss20542Qhwo7ZSS/W9F9uDWv55
        XXufEBbBoyZgkHQP5vZ9OpeY4k8Xmrh400jIYz8IrOsPB6GBQZ8yj61tlCWYCakZyCNbIDO/mrzpFLH7sk99jONu4rFQlXI3XgeO
        RkamUNayDJ4R/mv4KFedHbeCYNCUfJtWw0TRAK8HXqDSY2AL6Z+R55WK6M6TJHMCR/y14RYkejw5we6OZV9ejRvKqKYbGCwqweuj
        UZyf4UIuZyXMTIRn1Z7X8jQ6PSurOg44KYU5y1YqAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
        """
    ]

    /// A fixture's Ethernet frame.
    static func frame(_ name: String) -> [UInt8] {
        [UInt8](
            Data(
                base64Encoded: frames[name]!.replacingOccurrences(of: "\n", with: "").replacingOccurrences(
                    of: " ", with: ""))!)
    }

    /// The UDP payload of a fixture (Ethernet, IPv4 without options, UDP).
    static func datagram(_ name: String) -> [UInt8] { Array(frame(name).dropFirst(42)) }

    /// Opens `datagrams` in turn and puts their CRYPTO frames together: the hello, when whole.
    func hello(_ datagrams: [[UInt8]]) -> (ClientHello.Outcome, [QUICInitial.Outcome]) {
        var stream = [UInt8](repeating: 0, count: 8192)
        var have = [Bool](repeating: false, count: 8192)
        var outcomes: [QUICInitial.Outcome] = []
        for d in datagrams {
            var decryptions = 0
            outcomes.append(
                d.withUnsafeBytes { raw in
                    QUICInitial.open(raw, originalDCID: nil, decryptions: &decryptions) { _, _, crypto in
                        for f in crypto {
                            for i in 0 ..< f.data.count where f.offset + i < stream.count {
                                stream[f.offset + i] = f.data[i]
                                have[f.offset + i] = true
                            }
                        }
                    }
                })
        }
        let contiguous = have.firstIndex(of: false) ?? have.count
        return (
            stream.withUnsafeBytes { ClientHello.handshake(UnsafeRawBufferPointer(rebasing: $0.prefix(contiguous))) },
            outcomes
        )
    }

    func testRealInitialsOfBothVersionsGiveTheirHello() {
        for (name, server, alpn, version) in [
            ("v1", "one.flowtap.test", "h3", QUICInitial.version1),
            ("v2", "two.flowtap.test", "hq-interop", QUICInitial.version2)
        ] {
            let (outcome, opened) = hello([Self.datagram(name)])
            XCTAssertEqual(opened, [.opened(version: version, packets: 1)], name)
            guard case let .complete(facts) = outcome else { return XCTFail("\(name): \(outcome)") }
            XCTAssertEqual(facts.serverName.string, server)
            XCTAssertEqual(facts.alpn.string, alpn)
            XCTAssertEqual(facts.version, 0x0304)
            XCTAssertTrue(facts.ja4.string.hasPrefix("q13d"), facts.ja4.string)
        }
    }

    func testAHelloOverThreeInitialsInAnyOrder() {
        let parts = ["split0", "split1", "split2"].map(Self.datagram)
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]] {
            let (outcome, _) = hello(order.map { parts[$0] })
            guard case let .complete(facts) = outcome else { return XCTFail("order \(order): \(outcome)") }
            XCTAssertEqual(facts.serverName.string, "big.flowtap.test")
            XCTAssertEqual(facts.alpn.string, "h3")
        }
        // Two of the three: not yet.
        guard case .incomplete = hello([parts[0], parts[2]]).0 else { return XCTFail("two of three") }
    }

    /// The three Initials coalesced in one datagram (RFC 9000 §12.2), in reverse order, with
    /// zeros after them as a padded datagram has: one opening each, one hello.
    func testCoalescedInitialsInOneDatagram() {
        // Each fixture's datagram is one Initial packet, then zeros to 1200 bytes: the packet
        // alone, by its header's lengths.
        func packet(_ d: [UInt8]) -> [UInt8] {
            d.withUnsafeBytes { raw in
                let p = raw.baseAddress!
                let h = 7 + Int(d[5]) + Int(d[6 + Int(d[5])])
                let (token, t) = QUICInitial.varint(p, h, d.count)!
                let (length, pn) = QUICInitial.varint(p, t + Int(token), d.count)!
                return Array(d[0 ..< pn + Int(length)])
            }
        }
        let parts = ["split2", "split1", "split0"].map { packet(Self.datagram($0)) }
        XCTAssertLessThan(parts[0].count, 1200)
        let (outcome, opened) = hello([parts.reduce([], +) + [UInt8](repeating: 0, count: 40)])
        XCTAssertEqual(opened, [.opened(version: QUICInitial.version1, packets: 3)])
        guard case let .complete(facts) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(facts.serverName.string, "big.flowtap.test")
    }

    /// A client's later Initials carry the server's connection ID and keep the keys of its first
    /// (nDPI PR #2278): the fixtures are the 2nd and 3rd of the three, protected again by
    /// aioquic's own crypto under another DCID (tools/quicpeer.py rekey).
    func testLaterInitialsUnderAnotherDCIDOpenWithTheFirstKeys() {
        let first = Self.datagram("split0")
        let original = Array(first[6 ..< 14])
        for name in ["rekeyed1", "rekeyed2"] {
            let d = Self.datagram(name)
            XCTAssertNotEqual(Array(d[6 ..< 14]), original, "\(name) carries another DCID")
            var decryptions = 0
            let alone = d.withUnsafeBytes {
                QUICInitial.open($0, originalDCID: nil, decryptions: &decryptions) { _, _, _ in }
            }
            XCTAssertEqual(alone, .malformed(.quicBadTag), "\(name): its own DCID's keys do not open it")
            var frames = 0
            let kept = d.withUnsafeBytes { raw in
                original.withUnsafeBytes {
                    QUICInitial.open(raw, originalDCID: $0, decryptions: &decryptions) { _, _, crypto in
                        frames += crypto.count
                    }
                }
            }
            XCTAssertEqual(kept, .opened(version: QUICInitial.version1, packets: 1), name)
            XCTAssertGreaterThan(frames, 0)
        }
        // Through the meter, in order and reversed: the flow keeps its first DCID for them.
        for order in [["split0", "rekeyed1", "rekeyed2"], ["split0", "rekeyed2", "rekeyed1"]] {
            var m = PacketMeter(
                records: [.l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60),
                maxFlows: 64, point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0),
                inspect: true)
            for (i, name) in order.enumerated() {
                Self.frame(name).withUnsafeBytes { m.meter($0.baseAddress!, length: $0.count, now: 1_000 + UInt64(i)) }
            }
            let slot = (0 ..< m.cache.capacity).first { m.cache.tags[$0] != 0 }!
            let (id, detail) = m.cache.application(of: m.cache.entries[slot])
            XCTAssertEqual(id, .quic, "\(order)")
            XCTAssertEqual(detail?.name, "big.flowtap.test", "\(order)")
        }
    }

    func testServersDatagramsAreQUICWithNothingToOpen() {
        for name in ["serverACK", "serverFlight"] {
            var decryptions = 0
            let outcome = Self.datagram(name).withUnsafeBytes {
                QUICInitial.open($0, originalDCID: nil, decryptions: &decryptions) { _, _, _ in XCTFail("opened") }
            }
            XCTAssertEqual(outcome, .serverFlight(version: QUICInitial.version1), name)
            XCTAssertEqual(decryptions, 0)
        }
    }

    func testAlteredOrCutInitialsAreCountedNeverTrusted() {
        var altered = Self.datagram("v1")
        altered[100] ^= 1 // in the CRYPTO frame
        var cut = Self.datagram("v1")
        // Flags, version, DCID (8), SCID (8), token length: then the length, made longer than
        // the datagram.
        cut[24] = 0x7F
        var unknown = Self.datagram("v1")
        unknown[4] = 0x07
        for (d, want) in [
            (altered, QUICInitial.Outcome.malformed(.quicBadTag)), (cut, .malformed(.badQUICPacket)),
            (unknown, .unknownVersion(7)), (Array(Self.datagram("v1").prefix(6)), .notQUIC)
        ] {
            var decryptions = 0
            let outcome = d.withUnsafeBytes {
                QUICInitial.open($0, originalDCID: nil, decryptions: &decryptions) { _, _, _ in XCTFail("opened") }
            }
            XCTAssertEqual(outcome, want)
        }
    }

    /// Through the meter, as `run` and `read` see them: the client's flow named with its fields,
    /// the hello over three Initials in reverse order too, the server's flow named QUIC.
    func testTheMeterNamesBothDirections() {
        for order in [["split0", "split1", "split2"], ["split2", "split1", "split0"]] {
            var m = PacketMeter(
                records: [.l3, .l4], policy: ExpiryPolicy(idleTimeoutSeconds: 15, activeTimeoutSeconds: 60),
                maxFlows: 64,
                point: ObservationPoint(ingressInterface: 1, egressInterface: 2, direction: 0), inspect: true)
            for (i, name) in (order + ["serverACK"]).enumerated() {
                Self.frame(name).withUnsafeBytes { m.meter($0.baseAddress!, length: $0.count, now: 1_000 + UInt64(i)) }
            }
            var names: [UInt16: (ApplicationID, String)] = [:]
            for slot in 0 ..< m.cache.capacity where m.cache.tags[slot] != 0 {
                let (id, detail) = m.cache.application(of: m.cache.entries[slot])
                names[m.cache.entries[slot].key.sourcePort] = (id, detail?.name ?? "")
            }
            XCTAssertEqual(names[56244]?.0, .quic, "\(order)")
            XCTAssertEqual(names[56244]?.1, "big.flowtap.test", "\(order)")
            XCTAssertEqual(names[4443]?.0, .quic, "\(order)")
            XCTAssertEqual(m.cache.apps.buffersInUse, 0, "the buffer is given back once the hello is whole")
            XCTAssertEqual(m.cache.apps.quicDecryptions, 3)
        }
    }
}
